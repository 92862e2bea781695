"""Training dynamics from a run's own log: vanishing gradients and oscillation.

The stability claims of the seed papers are about the path, not the end point: G's
gradient from the GAN loss vanishing against a strong D (002 Fig. 4) and D's output on
generated data swinging without damping near equilibrium (000 Fig. 4 / 6). This metric
reads every logged step of the run (``log.jsonl``: every step is logged) and reduces it to
numbers a table can hold, so those claims are tabulated like any other metric:

- ``gradient`` (a logged key, e.g. ``grad/generator/generator``): its value at step 1, its
  median over the last ``tail_fraction`` of steps, and the first step below
  ``vanish_fraction`` of step 1's value (None: never);
- ``output`` (e.g. ``diag/d_fake``): over the second half of the steps, its mean, standard
  deviation (population), mean absolute change per step, and the standard deviation of its
  ``window``-step moving average (the slow swings, with the batch-to-batch noise averaged out);
- ``tail``: more keys, each its median over the last ``tail_fraction`` of steps.

Keys are ``<logged key>/<statistic>``. ``zero_when_absent`` names keys whose absence at a
step means a zero (a loss term not computed at that step: GAN+AE+alpha_L's adversarial term
in its first stage). A key the run never logged gives None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field, PositiveInt

from aegan.metrics.base import EvalContext, MetricParams, register_metric


class DynamicsParams(MetricParams):
    """Which logged series to reduce, and how (module docstring)."""

    gradient: str | None = "grad/generator/generator"
    vanish_fraction: float = Field(0.01, gt=0, lt=1)
    output: str | None = "diag/d_fake"
    window: PositiveInt = 20
    tail: tuple[str, ...] = ()
    tail_fraction: float = Field(0.1, gt=0, le=1)
    zero_when_absent: tuple[str, ...] = ()


def series(rows: list[dict[str, Any]], keys: list[str], zero_when_absent: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Every logged step's value of each key (NaN where a step lacks it, 0 for ``zero_when_absent`` keys)."""
    rows = [r for r in rows if isinstance(r.get("step"), int)]
    out = {}
    for key in keys:
        fill = 0.0 if key in zero_when_absent else math.nan
        out[key] = np.array([r[key] if isinstance(r.get(key), (int, float)) else fill for r in rows], dtype=float)
    return out


def first_step_below(values: np.ndarray, fraction: float) -> int | None:
    """The first step (1-based) whose value is below ``fraction`` of step 1's (None: never)."""
    if len(values) == 0 or not np.isfinite(values[0]):
        return None
    hits = np.nonzero(values < fraction * values[0])[0]
    return int(hits[0]) + 1 if len(hits) else None


def tail_median(values: np.ndarray, fraction: float = 0.1) -> float | None:
    """The median of the finite values in the last ``fraction`` of the steps."""
    tail = values[len(values) - max(1, round(len(values) * fraction)):] if len(values) else values
    tail = tail[np.isfinite(tail)]
    return float(np.median(tail)) if len(tail) else None


def oscillation(values: np.ndarray, window: int = 20) -> dict[str, float | None]:
    """Over the second half of a series: mean, std (ddof 0), mean |step-to-step change| and
    the std of the ``window``-step moving average."""
    half = values[len(values) // 2:]
    half = half[np.isfinite(half)]
    if len(half) < 2:
        return {"mean": None, "std": None, "change": None, "slow_std": None}
    smooth = np.convolve(half, np.ones(window) / window, mode="valid") if len(half) >= window else half[:0]
    return {"mean": float(half.mean()), "std": float(half.std()), "change": float(np.abs(np.diff(half)).mean()),
            "slow_std": float(smooth.std()) if len(smooth) > 1 else None}


def dynamics_scores(rows: list[dict[str, Any]], p: DynamicsParams) -> dict[str, float | None]:
    """The statistics of the module docstring from a run's logged rows."""
    keys = [k for k in (p.gradient, p.output, *p.tail) if k]
    s = series(rows, list(dict.fromkeys(keys)), p.zero_when_absent)
    out: dict[str, float | None] = {}
    if p.gradient:
        g = s[p.gradient]
        below = first_step_below(g, p.vanish_fraction)
        out[f"{p.gradient}/step1"] = float(g[0]) if len(g) and np.isfinite(g[0]) else None
        out[f"{p.gradient}/last"] = tail_median(g, p.tail_fraction)
        out[f"{p.gradient}/steps_below_{p.vanish_fraction:g}"] = None if below is None else float(below)
    if p.output:
        out.update({f"{p.output}/{k}": v for k, v in oscillation(s[p.output], p.window).items()})
    for key in p.tail:
        out[f"{key}/last"] = tail_median(s[key], p.tail_fraction)
    return out


@register_metric("dynamics", DynamicsParams)
def dynamics_metric(ctx: EvalContext, p: DynamicsParams) -> dict[str, float | None]:
    if ctx.log_rows is None:
        raise ValueError("dynamics: reads a run's logged steps; evaluate it on a run (aegan train, or aegan eval RUN)")
    return dynamics_scores(ctx.log_rows(), p)
