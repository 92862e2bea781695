"""Budget curves (Lucic et al. 2018, "Are GANs created equal?"): each method's best score so
far against the training it took to reach it, so methods are compared at equal budget.

From a record's ``eval_history`` (``eval.every``: the metrics during training, each at its
step) and its final metrics at its last step, a seed's curve is its best value so far at
each evaluation (the running minimum of a lower-is-better metric, ``records.LOWER_IS_BETTER``,
else the running maximum), against training steps and against training seconds. The
seconds are those the loop timed before the evaluation (``records.EVAL_TIME`` in each
eval.jsonl row, the record's ``train_seconds`` at the end); records made before that was
logged get step x ``time_per_step_ms``, an approximation the figure labels as such.

A row's curve is the mean over its seeds with a 95 % Student-t interval (``t_band``), on
the union of the seeds' evaluation points; a seed's best so far holds after its last
evaluation (a run that stopped, at its end or diverged, keeps the best it reached), and is
undefined before its first: against seconds, where seeds were evaluated at different
times, the first points average the seeds evaluated by then.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aegan.results import records as rec
from aegan.results.figures import band_figure, row_groups

LEVEL = 0.95  # the interval's coverage


def best_so_far(values: list[float | None], lower_is_better: bool) -> np.ndarray:
    """The running best of ``values`` (NaN before the first finite one; a non-finite value
    changes nothing): [3, 1, 2] -> [3, 1, 1] for a lower-is-better metric, [3, 3, 3] else."""
    out = np.full(len(values), np.nan)
    best = math.nan
    for i, value in enumerate(values):
        if isinstance(value, (int, float)) and math.isfinite(value):
            if math.isnan(best) or (value < best if lower_is_better else value > best):
                best = float(value)
        out[i] = best
    return out


def seed_curve(record: dict[str, Any], key: str) -> dict[str, Any] | None:
    """One record's best-so-far curve of ``key``: {"step", "seconds", "best" (arrays),
    "approximate_seconds" (bool)}; None when it was not evaluated during training."""
    history = record.get("eval_history") or {}
    if key not in history or not history.get("step"):
        return None
    steps, values = list(history["step"]), list(history[key])
    seconds = list(history.get(rec.EVAL_TIME) or [])
    approximate = len(seconds) != len(steps) or any(not isinstance(s, (int, float)) for s in seconds)
    final = (record.get("metrics") or {}).get(key)
    if record.get("status") == "ok" and isinstance(final, (int, float)) and record.get("step", 0) > steps[-1]:
        steps.append(record["step"])  # the final evaluation, the table's value
        values.append(final)
        seconds.append(record.get("train_seconds"))
    if approximate or not isinstance(seconds[-1], (int, float)):
        approximate = True
        seconds = [s * record["time_per_step_ms"] / 1000 for s in steps]
    best = best_so_far(values, key in rec.LOWER_IS_BETTER)
    return {"step": np.asarray(steps, float), "seconds": np.asarray(seconds, float), "best": best,
            "approximate_seconds": approximate}


def held(x: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The step function through (xs, ys) at ``x``: the value at the last xs <= x (held after
    the last point), NaN before the first."""
    index = np.searchsorted(xs, x, side="right") - 1
    out = np.where(index >= 0, ys[np.clip(index, 0, len(ys) - 1)], np.nan)
    return out.astype(float)


def t_band(grid: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Over the rows of ``grid`` (seeds x points): (mean, low, high, n) at each point, the
    Student-t interval mean +- t_{(1+level)/2, n-1} s / sqrt(n) of the finite values (s: the
    sample std, ddof 1); with one value the interval is that value (no spread to estimate)."""
    from scipy import stats

    finite = np.isfinite(grid)
    n = finite.sum(0)
    filled = np.where(finite, grid, 0.0)
    with np.errstate(all="ignore"):
        mean = np.where(n > 0, filled.sum(0) / np.maximum(n, 1), np.nan)
        var = np.where(n > 1, (np.where(finite, grid - mean, 0.0) ** 2).sum(0) / np.maximum(n - 1, 1), 0.0)
        half = np.where(n > 1, stats.t.ppf((1 + level) / 2, np.maximum(n - 1, 1)) * np.sqrt(var / np.maximum(n, 1)),
                        0.0)
    return mean, mean - half, mean + half, n


def row_band(curves: list[dict[str, Any]], axis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """A row's (x, mean, low, high) over its seeds' curves against ``axis`` ("step" or
    "seconds"), on the union of the seeds' evaluation points; None without curves."""
    if not curves:
        return None
    x = np.unique(np.concatenate([c[axis] for c in curves]))
    grid = np.vstack([held(x, c[axis], c["best"]) for c in curves])
    mean, low, high, _ = t_band(grid)
    return x, mean, low, high


def budget_panels(rows: dict[str, list[dict[str, Any]]], columns: list[tuple]) -> list[tuple[str, str, dict]]:
    """Per metric column evaluated during training: two panels, (title, x label, {row: band}),
    best so far against steps and against training seconds."""
    panels = []
    for title, key, *rest in columns:
        if rest[1:] or key.startswith(("best", "compute/")):
            continue
        curves = {label: [c for c in (seed_curve(r, key) for r in recs) if c is not None] for label, recs in rows.items()}
        curves = {label: cs for label, cs in curves.items() if cs}
        if not curves:
            continue
        approximate = any(c["approximate_seconds"] for cs in curves.values() for c in cs)
        seconds = "training seconds" + (" (some approximated: step x ms/step)" if approximate else "")
        direction = "lowest" if key in rec.LOWER_IS_BETTER else "highest"
        panels.append((f"best {title} so far ({direction})", "step",
                       {label: row_band(cs, "step") for label, cs in curves.items()}))
        panels.append((f"best {title} so far ({direction})", seconds,
                       {label: row_band(cs, "seconds") for label, cs in curves.items()}))
    return panels


def budget_figures(table, columns: list[tuple]) -> list[str]:
    """The table's budget curves: per group of rows (``figures.row_groups``) a figure with the
    ``budget_panels``, a line per row (mean over seeds) and its 95 % t band (data URIs; none
    when no run evaluated during training)."""
    figures = [_figure(rows, budget_panels(rows, columns)) for rows in row_groups(table)]
    return [f for f in figures if f]


def _figure(rows: dict[str, list], panels: list[tuple[str, str, dict]]) -> str | None:
    return band_figure(rows, [(title, xlabel, False, bands) for title, xlabel, bands in panels], steps=True)
