"""A results table's columns and cells: which metrics a table shows, each cell's mean and
interval over seeds, the per-term gradient text, and compare's markdown table of a config's rows."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from aegan.results.rows import Job, dataset_label


# per metric: (column title, metric key, digits[, "min"]); a table shows the metrics its runs
# computed, as the mean over seeds with its 95 % interval (_mean_interval), or as the worst seed's value where
# "min" is given
COLUMNS = {
    "mixture": (("modes", "mixture/modes", 2), ("high-quality", "mixture/high_quality", 3),
                ("worst seed's high-quality", "mixture/high_quality", 3, "min"),
                ("strict modes", "mixture/strict_modes", 2), ("KL", "mixture/kl", 3)),
    "mnist_modes": (("modes", "mnist_modes/modes", 1), ("KL", "mnist_modes/kl", 3)),
    "mode_score": (("MODE score", "mode_score/mode_score", 2),),
    "classifier_is": (("IS", "classifier_is/inception_score", 2),),
    "fid": (("FID", "fid/fid", 2), ("KID", "fid/kid", 4)),
    # label-free effective numbers of modes (aegan.metrics.vendi, aegan.metrics.rke)
    "vendi": (("Vendi", "vendi/vendi", 1),),
    "rke": (("RKE-MC", "rke/rke_mc", 1),),
    # MS-SSIM read two ways (aegan.metrics.ms_ssim): 002's quality reading (higher better) and
    # the collapse reading against the real data's value (1 = identical samples)
    "ms_ssim": (("MS-SSIM (quality, 002)", "ms_ssim/quality", 3), ("MS-SSIM collapse", "ms_ssim/collapse", 3),
                ("MS-SSIM real", "ms_ssim/ms_ssim_real", 3)),
}
METHOD_STATE_COLUMNS = {  # Method.final_metrics, by key
    "method/stage": ("stage at the end", "method/stage", 0),
    "method/switch_step": ("first step of stage 2 (n/a: never)", "method/switch_step", 0),
    "method/alpha_l": ("alpha_L at the end", "method/alpha_l", ".3g"),
}
# the compute beside every score (aegan.results.compute adds them to a table's records as metrics)
# what a run spent: a plain mean over seeds (no interval, not tested against the baseline: a cost, not a score)
COMPUTE_COLUMNS = (("G updates", "compute/g_updates", 0, "plain"), ("D updates", "compute/d_updates", 0, "plain"),
                   ("E updates", "compute/e_updates", 0, "plain"),
                   ("training seconds", "compute/train_seconds", 0, "plain"),
                   ("training CPU seconds", "compute/train_cpu_seconds", 0, "plain"),
                   ("GFLOPs per step", "compute/gflops_per_step", ".3g", "plain"))
MODE_METRICS = ("mixture", "mnist_modes")  # have <metric>/modes and <metric>/total_modes


def columns_for(results: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    present = {key.split("/", 1)[0] for r in results for key in r["metrics"]}
    columns = [col for metric, cols in COLUMNS.items() if metric in present for col in cols]
    columns += [col for metric in sorted(present - set(COLUMNS)) for col in registered_columns(metric)]
    # the third-party discriminator's missed modes, one column per metric and noise level
    # ("third_party_fast/sigma0.5/missed_modes"; 000 Sec. 4.2)
    # and, beside each, that discriminator's held-out accuracy (how well it told the two apart)
    missed = sorted({key for r in results for key in r["metrics"] if key.endswith("/missed_modes")})
    for key in missed:
        accuracy = key.replace("/missed_modes", "/held_out_accuracy")
        columns.append((f"third-party D: missed ({key.split('/')[1]})", key, 1))
        if any(accuracy in r["metrics"] for r in results):
            columns.append((f"third-party D: held-out accuracy ({key.split('/')[1]})", accuracy, 3))
    # the best value over training and its step, beside the final value (records.best_over_training)
    for key in sorted({k[len("best/"):] for r in results for k in r["metrics"] if k.startswith("best/")}):
        name, digits = next(((c[0], c[2]) for c in columns if c[1] == key), (key, 3))
        columns += [(f"best {name} over training", f"best/{key}", digits), (f"step of best {name}", f"best_step/{key}", 0)]
    # the method's own state at the end (GAN+AE+alpha_L: its stage, the step it switched, alpha_L)
    state = {key for r in results for key in r["metrics"] if key.startswith("method/")}
    columns += [col for key, col in METHOD_STATE_COLUMNS.items() if key in state]
    dynamics = {key for r in results for key in r["metrics"] if key.startswith("dynamics/")}
    columns += [dynamics_column(key) for key in sorted(dynamics, key=lambda k: _dynamics_rank(k, dynamics))]
    # last, what the runs spent (records' compute pseudo-metrics, aegan.results.compute): updates, seconds,
    # FLOPs; a column where no run has a nonzero value (E updates of a table without an encoder) is left out
    return columns + [col for col in COMPUTE_COLUMNS if any(r["metrics"].get(col[1]) for r in results)]


def registered_columns(metric: str) -> tuple[tuple[str, str, int | str], ...]:
    """The columns a registered metric declares (``register_metric(columns=...)``: a plugin's);
    () when the metrics are not loaded in this process (no plugin: the built-ins are ``COLUMNS``)."""
    registry = getattr(sys.modules.get("aegan.metrics.base"), "METRICS", None)
    return registry[metric].columns if registry is not None and metric in registry else ()


# readable names of logged series the dynamics metric is usually given (others show their key)
SERIES_NAMES = {"grad/generator/generator": "G grad (GAN loss)", "grad/vae/generator": "G grad (VAE step)",
                "grad/generator/term/adversarial": "G grad from D", "diag/d_fake": "D(fake)",
                "diag/alpha_l": "alpha_L", "diag/recon_error": "reconstruction error"}
DYNAMICS_STATS = {"step1": "step 1", "last": "last 10 % (median)", "mean": "mean, 2nd half", "std": "std, 2nd half",
                  "change": "mean abs change per step, 2nd half", "slow_std": "std of its moving average, 2nd half"}


def _dynamics_rank(key: str, keys: set[str]) -> tuple[int, str]:
    """Column order: the gradient's statistics, then the output's, then the other series' medians."""
    series, stat = key.rsplit("/", 1)
    if stat == "last" and f"{series}/step1" in keys:
        return 1, key  # the gradient's late median, beside its step 1
    order = {"step1": 0, "mean": 3, "std": 4, "change": 5, "slow_std": 6}
    return (2 if stat.startswith("steps_below_") else order.get(stat, 7)), key


def dynamics_column(key: str) -> tuple[str, str, str]:
    """A column of the dynamics metric: "dynamics/grad/generator/generator/step1" ->
    ("G grad (GAN loss): step 1", key, ".3g"); step counts without decimals."""
    series, stat = key[len("dynamics/"):].rsplit("/", 1)
    name = SERIES_NAMES.get(series, series)
    if stat.startswith("steps_below_"):
        return f"{name}: first step < {stat[len('steps_below_'):]} x step 1 (n/a: never)", key, ".0f"
    return f"{name}: {DYNAMICS_STATS.get(stat, stat)}", key, ".3g"


def _all_modes(run: dict[str, Any]) -> bool | None:
    for metric in MODE_METRICS:
        if f"{metric}/total_modes" in run["metrics"]:
            return run["metrics"][f"{metric}/modes"] == run["metrics"][f"{metric}/total_modes"]
    return None


INTERVAL_NOTES = {
    "t": "[a, b]: the 95 % confidence interval of the mean over seeds (Student t with n - 1 degrees of freedom on "
         "the sample standard deviation, ddof 1); a one-seed cell shows that seed's value alone (1 seed).",
    "bootstrap": "[a, b]: the 95 % bootstrap percentile interval of the mean over seeds (10,000 resamples of the "
                 "seeds, seeded; never wider than the seeds' range); a one-seed cell shows that seed's value alone "
                 "(1 seed).",
}


def format_value(value: float, digits: int | str) -> str:
    """A table cell's number: ``digits`` decimals, or a format spec such as ".3g" or ".2e"; a value
    that rounds to zero is written without a sign (an interval's rounding noise is not "-0")."""
    text = format(float(value), digits if isinstance(digits, str) else f".{digits}f")
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _mean_interval(values: list[float | None], digits: int | str, interval: str = "t") -> str:
    """"mean [low, high]" of the finite values (``digits``: decimals, or a format spec such as
    ".2e"), the interval ``stats.mean_interval``'s: by default the 95 % Student-t interval,
    mean ± t_{0.975, n-1} · s / sqrt(n) with s the sample standard deviation (ddof 1: divides
    by n - 1); values [1, 3] give "2.00 [-10.71, 14.71]" (t_{0.975, 1} = 12.71: two seeds
    bound a mean loosely). With one finite value there is no spread to estimate: the cell is
    that value, marked "(1 seed)". Non-finite or missing values are left out and counted."""
    from aegan.results.stats import finite, mean_interval

    kept = finite(values)
    if not len(kept):
        return "n/a"
    text = format_value(np.mean(kept), digits)
    bounds = mean_interval(kept, interval)
    notes = [] if bounds else ["1 seed"]
    if bounds:
        text += f" [{format_value(bounds[0], digits)}, {format_value(bounds[1], digits)}]"
    if len(kept) < len(values):
        notes.append(f"{len(values) - len(kept)} n/a")
    return text + (f" ({', '.join(notes)})" if notes else "")


def _cell(values: list[float | None], digits: int | str, aggregate: str = "mean", interval: str = "t") -> str:
    """A column's cell over seeds: ``mean`` with its interval, ``min`` (the worst seed) or
    ``plain`` (the mean alone: a cost column)."""
    if aggregate in ("min", "plain"):
        finite = [v for v in values if v is not None and math.isfinite(v)]
        return format_value(min(finite) if aggregate == "min" else sum(finite) / len(finite), digits) if finite else "n/a"
    return _mean_interval(values, digits, interval)


TERM_COLUMN = "gradient norm per loss term (last 10 % of steps)"


def term_gradients_of(job: Job, result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """A run's per-term gradient norms (``records.term_gradients``): from its result when it
    carries them (a record's series), else from the run directory's log; {} without
    ``train.grad_per_term``."""
    if "term_gradients" in result:
        return result["term_gradients"]
    return run_term_gradients(job.run_dir)


def run_term_gradients(run_dir: str | Path) -> dict[str, dict[str, float]]:
    """``records.term_gradients`` of a run directory's log; {} when its first step logged no
    term apart (no ``train.grad_per_term``: the log is not read further) or there is no log."""
    from aegan.results.records import read_log, term_gradients, thin_series

    log = Path(run_dir) / "log.jsonl"
    try:
        with open(log) as f:
            if "/term/" not in f.readline():
                return {}
    except OSError:
        return {}
    return term_gradients(thin_series(read_log(log)))


def term_text(balances: list[dict[str, dict[str, float]]]) -> str:
    """"generator: adversarial 2, geometric 81; ..." -- each term's norm, mean over the runs
    that logged it, 3 significant digits; "-" when no run logged per-term norms."""
    merged: dict[str, dict[str, list[float]]] = {}
    for balance in balances:
        for phase, terms in balance.items():
            for term, value in terms.items():
                merged.setdefault(phase, {}).setdefault(term, []).append(value)
    if not merged:
        return "-"
    return "; ".join(f"{phase}: " + ", ".join(f"{t} {float(np.mean(v)):.3g}" for t, v in terms.items())
                     for phase, terms in merged.items())


def table_header(label: str, protocol: Any, steps: int) -> list[str]:
    """A table's heading lines: its label, then its data protocol and number of steps."""
    return [f"### {label}", "", f"protocol: `{json.dumps(protocol, sort_keys=True)}`, {steps} steps", ""]


def table(jobs: list[Job], results: list[dict[str, Any]], extra_rows: dict[str, list[str]] | None = None,
          interval: str = "t") -> str:
    """A markdown table per config: a row per method with its number of seeds, the mean over
    seeds of each column with its 95 % interval (``interval``: "t" or "bootstrap", its
    ``INTERVAL_NOTES`` entry printed under each table), whether every seed found every mode,
    and ms per step. ``extra_rows`` appends ready-made rows (published references) under a
    config's label."""
    lines: list[str] = []
    for config_path in dict.fromkeys(j.config_path for j in jobs):
        rows = [(j, r) for j, r in zip(jobs, results) if j.config_path == config_path]
        first = next((r for _, r in rows if not r.get("diverged")), rows[0][1])
        columns = columns_for([r for _, r in rows])
        label = dataset_label(config_path)
        lines += table_header(label, first["protocol"], first["step"])
        balances = {id(r): term_gradients_of(j, r) for j, r in rows}
        with_terms = any(balances.values())
        with_modes = any(_all_modes(r) is not None for _, r in rows)  # a mode-counting metric was computed
        header = ["method", "seeds", *[c[0] for c in columns], *(["all modes in every seed"] if with_modes else []),
                  "ms/step", *([TERM_COLUMN] if with_terms else [])]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method in dict.fromkeys(j.row for j, _ in rows):
            runs = [r for j, r in rows if j.row == method]
            cells = [_cell([r["metrics"].get(c[1]) for r in runs], *c[2:], interval=interval) for c in columns]
            full = [_all_modes(r) for r in runs]
            full_text = ["n/a" if None in full else ("yes" if all(full) else "no")] if with_modes else []
            ms = np.mean([r["time_per_step_ms"] for r in runs])
            terms = [term_text([balances[id(r)] for r in runs])] if with_terms else []
            lines.append("| " + " | ".join([method, str(len(runs)), *cells, *full_text, f"{ms:.2f}", *terms]) + " |")
        for cells in (extra_rows or {}).get(label, []):
            padded = cells + [""] * (len(header) - len(cells))
            lines.append("| " + " | ".join(padded) + " |")
        lines += ["", INTERVAL_NOTES[interval], ""]
        diverged = [f"{j.row} seed {j.seed} ({r['diverged']})" for j, r in rows if r.get("diverged")]
        if diverged:
            lines += ["diverged (exit 3; no metrics, counted as n/a above): " + "; ".join(diverged), ""]
    return "\n".join(lines)


def primary_column(columns: list[tuple]) -> tuple | None:
    """The column a table is judged by: a worst-seed ("min") column's metric, else the first
    score (a compute column only when the table has no score)."""
    scores = [c for c in columns if not c[1].startswith("compute/")] or columns
    return next((c for c in scores if c[3:] == ("min",)), scores[0] if scores else None)


def mean_column(columns: list[tuple], metric: str | None) -> tuple | None:
    """The mean column (not a worst-seed one) that ``metric`` names, by title or metric key;
    None: the primary column's (``--power`` and ``--versus-metric`` pick their column so)."""
    primary = primary_column(columns)
    wanted = metric if metric is not None else (primary[1] if primary else None)
    return next((c for c in columns if not c[3:] and wanted in (c[1], c[0])), None)


def signed(value: float, digits: int | str) -> str:
    """``format_value`` with its sign: "+6.0", "-1.25"."""
    return format(float(value), "+" + (digits if isinstance(digits, str) else f".{digits}f"))


def format_p(p: float) -> str:
    """A p-value in a cell: 3 significant digits ("p = 0.0496", not a rounded "0.05"), or "p < 0.001"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3g}"


def difference_cell(d: Any, p: float | None, column: tuple) -> dict[str, Any]:
    """One tested difference (``stats.Difference`` ``d``, its adjusted p-value ``p``) in ``column``
    as a cell ``{"text", "mark"}``: "+6.0 [2.1, 9.9], p = 0.012" marked "better" / "worse" (a
    metric without a better side: "higher" / "lower") below stats.ALPHA, else "n.s."; None
    where there is no test."""
    from aegan.results.stats import ALPHA, direction

    if d.diff is None:
        return {"text": "n/a", "mark": None}
    text = signed(d.diff, column[2])
    if d.low is not None:
        text += f" [{format_value(d.low, column[2])}, {format_value(d.high, column[2])}]"
    if p is None:
        return {"text": f"{text} ({d.reason}: no test)", "mark": None}
    better = direction(column[1]) * (1 if d.diff > 0 else -1)
    word = {1: "better", -1: "worse"}.get(better, "higher" if d.diff > 0 else "lower")
    return {"text": f"{text}, {format_p(p)}", "mark": word if p < ALPHA else "n.s."}


def comparison_markdown(comparison: dict[str, Any]) -> list[str]:
    """A table of tested differences (``{"title", "head", "rows", "notes"}``, rows of
    ``{"label", "seeds", "cells"}`` with ``difference_cell`` cells) as markdown lines, a
    significant difference's word in bold: the baseline table's and ``--versus``'s."""
    def text(cell: dict[str, Any]) -> str:
        if cell["mark"] in (None, "n.s."):
            return cell["text"] + (f" {cell['mark']}" if cell["mark"] else "")
        return f"{cell['text']} **{cell['mark']}**"

    head = ["method", "seeds", *comparison["head"]]
    lines = [comparison["title"] + ":", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([r["label"], str(r["seeds"]), *map(text, r["cells"])]) + " |"
              for r in comparison["rows"]]
    return lines + ["", *comparison["notes"]]
