"""``aegan report``: one self-contained HTML file from run records (no network, figures inline).

The report reads records only (aegan.results.records, via aegan.results.tables), plus the PNGs the runs
wrote when their directories are at hand: the protocol header, each table (means with their
95 % intervals, each seed's value on hover, seeds, worst seed, the rows against the baseline,
a per-seed drill-down, published rows marked as such), sample
figures, training curves with a band over seeds, diverged runs, warnings and links to each
run's config. Cells come from ``compare``'s own table code.
"""

from __future__ import annotations

import base64
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml

from aegan.results import records as rec
from aegan.checkpoint import atomic_write_text
from aegan.plots import _pyplot
from aegan.results.cells import primary_column
from aegan.results.figures import band_figure, figure_uri, png_data_uri, row_groups
from aegan.results.tables import (StatsOptions, Table, baseline_comparison, build_tables, check_baseline, grid_distribution,
                          grid_values, reference_cells, shown_table)

# curve panels: (title, pattern over series names, how matched names combine, log scale)
# "mean": the mean of the matched series; "phase_sum": each phase's terms summed, then the mean over phases
QUANTITIES = (
    ("D(x)", r"^diag/(d_real|d1_real)$", "mean", False),
    ("D(G(z))", r"^diag/(d_fake|d2_fake)$", "mean", False),
    ("alpha_L", r"^diag/alpha_l$", "mean", False),
    ("D loss (per D phase)", r"^loss/(?!latent_)[^/]*discriminator[^/]*/[^/]+$", "phase_sum", False),
    ("G adversarial loss", r"^loss/(?![^/]*discriminator)[^/]+/adversarial$", "mean", False),
    ("||grad G||", r"^grad/[^/]+/generator$", "mean", True),
    ("||grad D||", r"^grad/[^/]+/discriminator2?$", "mean", True),
    ("reconstruction error", r"^diag/recon_error$", "mean", True),
)


def quantity(series: dict[str, list], pattern: str, combine: str) -> np.ndarray | None:
    """One curve panel's values for a record's series (NaN where a point lacks them)."""
    names = [n for n in series if n != "step" and re.match(pattern, n)]
    if not names:
        return None
    arr = lambda n: np.array([np.nan if v is None else v for v in series[n]], dtype=float)  # noqa: E731
    if combine == "phase_sum":
        phases: dict[str, list[np.ndarray]] = {}
        for n in names:
            phases.setdefault(n.split("/")[1], []).append(arr(n))
        columns = [np.sum(v, axis=0) for v in phases.values()]
    else:
        columns = [arr(n) for n in names]
    with np.errstate(all="ignore"):
        return np.nanmean(np.vstack(columns), axis=0) if len(columns) > 1 else columns[0]


def _band(records: list[dict[str, Any]], pattern: str, combine: str, series_of=lambda r: r["series"]):
    """(steps, mean, low, high) over seeds on the longest seed's steps; None without data."""
    curves = [(series_of(r)["step"], quantity(series_of(r), pattern, combine)) for r in records]
    curves = [(np.asarray(s, float), v) for s, v in curves if v is not None and len(s)]
    if not curves:
        return None
    steps = max((s for s, _ in curves), key=len)
    grid = np.full((len(curves), len(steps)), np.nan)
    for i, (s, v) in enumerate(curves):
        inside = steps <= s[-1]  # a diverged seed stops where it stopped
        grid[i, inside] = np.interp(steps[inside], s, v)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns past a diverged seed's end
        return steps, np.nanmean(grid, 0), np.nanmin(grid, 0), np.nanmax(grid, 0)


def curves_figures(table: Table) -> list[str]:
    """The training curves of a table: per group of rows a figure with a panel per quantity, a
    line per row (mean over seeds) with a band from the lowest to the highest seed (data URIs)."""
    figures = [_panels_figure(rows, [(title, log, {label: _band(recs, pattern, combine) for label, recs in rows.items()})
                                     for title, pattern, combine, log in QUANTITIES])
               for rows in row_groups(table)]
    return [f for f in figures if f]


def metric_series(record: dict[str, Any]) -> dict[str, list]:
    """A record's metrics over training: its eval_history (eval.every) and the final metrics at
    its last step; only ``{"step": []}`` for a run evaluated at the end alone."""
    history = record.get("eval_history") or {"step": []}
    if not history["step"] or not record.get("metrics"):
        return {"step": []}
    names = [n for n in history if n != "step"]
    return {"step": history["step"] + [record["step"]],
            **{n: history[n] + [record["metrics"].get(n)] for n in names}}


def metric_curves_figures(table: Table, columns: list[tuple]) -> list[str]:
    """The table's metrics over training (runs with ``eval.every``): per group of rows a figure
    with a panel per metric column, a line per row with a band over seeds (data URIs; none when
    no run evaluated during training)."""
    figures = [_panels_figure(rows, [(title, False, {label: _band(recs, f"^{re.escape(key)}$", "mean", metric_series)
                                                     for label, recs in rows.items()})
                                     for title, key, *rest in columns if not rest[1:]])
               for rows in row_groups(table)]
    return [f for f in figures if f]


def _panels_figure(rows: dict[str, list], panels: list[tuple[str, bool, dict[str, Any]]]) -> str | None:
    """Curve panels (title, log scale, {row: band}): a line per row, a band over its seeds."""
    panels = [(title, log, {k: v for k, v in bands.items() if v is not None}) for title, log, bands in panels]
    return band_figure(rows, [(title, "step", log, bands) for title, log, bands in panels if bands])


def grid_figure(table: Table, metric: tuple | None) -> str | None:
    """For a grid comparison (rows ``method[key=value,...]``): the distribution of ``metric`` over
    the grid's settings and seeds, a histogram per method on shared bins (001 Fig. 3's view); a
    data URI, or None when no row is a grid point."""
    values = {method: list(by_run.values()) for method, by_run in grid_values(table, metric[1]).items()} if metric else {}
    if not values:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    low, high = min(map(min, values.values())), max(map(max, values.values()))
    bins = np.linspace(low, high if high > low else low + 1, 21)
    for i, (method, vals) in enumerate(values.items()):
        ax.hist(vals, bins=bins, alpha=0.5, color=f"C{i % 10}", label=f"{method} ({len(vals)} runs)")
    ax.set_xlabel(metric[0], fontsize=8)
    ax.set_ylabel("settings x seeds", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return figure_uri(fig)


def _run_dir(path: Path, record: dict[str, Any]) -> Path | None:
    """Where a record's run directory is on this machine: beside the record (a compare --out
    directory), else the path it recorded (relative to the working directory); None if gone."""
    if path.name == rec.RECORD_FILE:
        return path.parent
    run_dir = Path(record.get("run_dir") or "")
    return run_dir if record.get("run_dir") and (run_dir / "config.yaml").is_file() else None


def _embed(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return png_data_uri(path.read_bytes())


def preview_figure(records: list[dict[str, Any]], max_seeds: int = 5) -> str | None:
    """A row's samples from its records alone (``samples_preview``): the first seed's image
    grid, or a scatter panel per seed over the mixture's centres for 2D; None without previews."""
    previews = sorted(((r["seed"], r["samples_preview"], r.get("data_protocol") or {}) for r in records
                       if r.get("samples_preview")), key=lambda p: p[0])[:max_seeds]
    if not previews:
        return None
    if "png" in previews[0][1]:
        return png_data_uri(base64.b64decode(previews[0][1]["png"]))
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(previews), figsize=(2.2 * len(previews), 2.3), squeeze=False)
    for ax, (seed, preview, protocol) in zip(axes.flat, previews):
        points = np.asarray(preview["points"], dtype=float).reshape(-1, 2)
        centres = _mixture_centres(protocol)
        if centres is not None:  # under the samples: rings where the modes are
            ax.scatter(centres[:, 0], centres[:, 1], marker="o", facecolors="none", edgecolors="red", s=40, lw=0.6,
                       zorder=1)
        ax.scatter(points[:, 0], points[:, 1], s=5, alpha=0.6, lw=0, zorder=2)
        ax.set_title(f"seed {seed}, step {preview['step']}", fontsize=7)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return figure_uri(fig)


def _mixture_centres(protocol: dict[str, Any]) -> np.ndarray | None:
    """The mode centres of a 2D mixture's data protocol, or None for other data."""
    try:
        from aegan.data.mixtures import MixtureConfig, mixture_centres

        fields = {k: protocol[k] for k in MixtureConfig.model_fields if k in protocol}
        return mixture_centres(MixtureConfig(**fields)).numpy() if "layout" in fields else None
    except (ValueError, TypeError, KeyError):
        return None


def _fmt(value: Any, digits: int | str = 3) -> str:
    from aegan.results.cells import format_value

    if value is None:
        return "n/a"
    if isinstance(value, float):
        return format_value(value, digits) if math.isfinite(value) else str(value)
    return str(value)


def worst_seed(per_seed: list[dict[str, Any]], metric: str | None) -> dict[str, Any] | None:
    """The finished seed with the worst value of ``metric`` (the highest FID/KID/KL, else the lowest)."""
    from aegan.results.records import LOWER_IS_BETTER

    ok = [s for s in per_seed if s["status"] == "ok" and isinstance(s["primary"], (int, float))]
    if not ok:
        return None
    return (max if metric in LOWER_IS_BETTER else min)(ok, key=lambda s: s["primary"])


def table_context(table: Table, out_dir: Path, search_dirs: list[Path],
                  options: StatsOptions = StatsOptions()) -> dict[str, Any]:
    """Everything the template shows for one table."""
    from aegan.results.budget import budget_figures
    from aegan.results.cells import INTERVAL_NOTES, TERM_COLUMN, _all_modes, _cell, columns_for, term_text
    from aegan.results.tables import as_results

    jobs, results = as_results(table)
    columns = columns_for(results)
    primary = primary_column(columns)
    rows, seeds_of = [], table.rows()
    for label, recs in seeds_of.items():
        mine = [(j, r) for j, r in zip(jobs, results) if j.method == label]
        runs = [r for _, r in mine]
        cells = [_cell([r["metrics"].get(c[1]) for r in runs], *c[2:], interval=options.interval) for c in columns]
        seed_values = ["; ".join(f"seed {j.seed}: {_fmt(r['metrics'].get(c[1]), c[2])}" for j, r in mine)
                       for c in columns]  # a cell's title: each seed's value on hover
        per_seed = []
        for path, record in [(p, r) for p, r in table.records if r["label"] == label]:
            run_dir = _run_dir(path, record)
            config_link = os.path.relpath(run_dir / "config.yaml", out_dir) if run_dir else None
            per_seed.append({
                "seed": record["seed"], "status": record["status"], "reason": record.get("reason"),
                "values": [_fmt(record["metrics"].get(c[1]), c[2]) for c in columns if not c[3:]],
                "primary": record["metrics"].get(primary[1]) if primary else None,
                "ms": _fmt(record["time_per_step_ms"], 2), "wall": _fmt(record.get("wall_seconds"), 1),
                "memory": _fmt((record.get("peak_memory_mb") or {}).get("cpu_rss"), 0),
                "warnings": len(record.get("warnings") or []), "config_link": config_link,
                "config_text": yaml.safe_dump(record["config"], sort_keys=False), "record": str(path),
                "samples": run_dir / "samples.png" if run_dir and (run_dir / "samples.png").is_file() else None,
                "machine": record["environment"]["machine"].get("hostname"),
                "device": record["environment"].get("device"), "created": record.get("created"),
            })
        worst = worst_seed(per_seed, primary[1] if primary else None)
        full = [_all_modes(r) for r in runs if not r.get("diverged")]
        rows.append({"label": label, "seeds": len(per_seed), "cells": cells, "seed_values": seed_values,
                     "per_seed": per_seed,
                     "diverged": sum(s["status"] != "ok" for s in per_seed),
                     "all_modes": "n/a" if not full or None in full else ("yes" if all(full) else "no"),
                     "ms": _fmt(float(np.mean([r["time_per_step_ms"] for r in runs])), 2),
                     "terms": term_text([r["term_gradients"] for r in runs]),
                     "worst": f"seed {worst['seed']} ({_fmt(worst['primary'], primary[2])})" if worst else "n/a",
                     "samples": _embed(next((s["samples"] for s in per_seed if s["samples"]), None))
                     or preview_figure([r for _, r in table.records if r["label"] == label])})
    figure = next((_embed(d / f"{table.benchmark}_samples.png") for d in search_dirs
                   if (d / f"{table.benchmark}_samples.png").is_file()), None)
    diverged = [{"label": r["label"], "seed": r["seed"], "step": r["step"], "reason": r.get("reason")}
                for _, r in table.records if r["status"] != "ok"]
    warnings = [{"label": r["label"], "seed": r["seed"], **w} for _, r in table.records for w in r.get("warnings") or []]
    with_terms = any(r["term_gradients"] for r in results)
    return {"benchmark": table.benchmark, "columns": [c[0] for c in columns], "rows": rows,
            "with_modes": any(_all_modes(r) is not None for r in results),  # a mode-counting metric ran
            "term_column": TERM_COLUMN if with_terms else None,
            "seed_columns": [c[0] for c in columns if not c[3:]],  # a seed has no worst-seed column
            "primary": next(c[0] for c in columns if c[1] == primary[1]) if primary else None,
            "references": [{"label": ref["label"], "kind": ref.get("kind", "published"), "cells": cells[2:]}
                           for ref, cells in zip(table.references, reference_cells(table, columns))],
            "measured_references": any(ref.get("kind") == "measured" for ref in table.references),
            "reference_notes": [f"{r['label']}: {'; '.join(r['notes'])}" for r in table.references if r["notes"]],
            "header": header_context(table), "curves": curves_figures(table), "samples_figure": figure,
            "metric_curves": metric_curves_figures(table, columns),
            "budget_curves": budget_figures(table, columns), "compute_notes": table.compute_notes,
            "grid": grid_figure(table, primary),
            "grid_distribution": grid_distribution(table, primary) if primary else None,
            "interval_note": INTERVAL_NOTES[options.interval],
            "vs_baseline": baseline_comparison(table, columns, options),
            "diverged": diverged, "warnings": warnings, "refused": table.refused, "notes": table.notes,
            "protocol_hash": table.protocol_hash}


def _distinct(values: Iterable[Any]) -> str:
    seen = list(dict.fromkeys(str(v) for v in values if v not in (None, "")))
    return ", ".join(seen) or "n/a"


def header_context(table: Table) -> dict[str, Any]:
    """The protocol header: what the numbers mean and where they were computed."""
    records = [r for _, r in table.records]
    first = next((r for r in records if r["status"] == "ok"), records[0])  # a diverged run has no metric params
    env = [r["environment"] for r in records]
    commits = [f"{e['git']['commit'][:10]}{' (uncommitted changes)' if e['git'].get('dirty') else ''}"
               if e.get("git", {}).get("commit") else "not a git checkout" for e in env]
    machines = [f"{e['machine'].get('hostname')} ({e['machine'].get('processor')}"
                f"{', ' + e['machine']['cpu_capability'] if e['machine'].get('cpu_capability') else ''}, "
                f"{e['machine'].get('cpus')} CPUs; "
                f"{e.get('device_name') or e.get('device')})" for e in env]
    return {
        "data": first.get("data_protocol"), "n_samples": first["config"].get("eval", {}).get("n_samples"),
        "eval_seed": first["config"].get("eval", {}).get("seed"), "steps": first["steps"],
        "metric_params": first.get("metric_params"), "inception": _distinct(r.get("inception_sha256") for r in records),
        "commits": _distinct(commits), "aegan": _distinct(e.get("aegan") for e in env),
        "torch": _distinct(e.get("torch") for e in env), "python": _distinct(e.get("python") for e in env),
        "numpy": _distinct(e.get("numpy") for e in env), "machines": _distinct(machines),
        "dates": f"{min(r.get('created', '') for r in records)} to {max(r.get('created', '') for r in records)}",
        "varied": ", ".join(table.protocol.get("varied") or []) or "none",
        "protocol_yaml": yaml.safe_dump(table.protocol.get("config"), sort_keys=False),
    }


def render(dirs: Iterable[str | Path], out: Path, references: Iterable[str | Path] = (),
           options: StatsOptions = StatsOptions()) -> tuple[str, list[str]]:
    """The report's HTML and messages (files that were not records, refused records)."""
    import jinja2

    dirs = [Path(d) for d in dirs]
    tables, problems = build_tables(dirs, references)
    if not tables:
        from aegan.config import ConfigError

        raise ConfigError(f"no aegan records under {', '.join(map(str, dirs))}")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    check_baseline(tables, options)
    tables = [shown_table(t, options) for t in tables]
    context = [table_context(t, out.parent.resolve() if out.parent.exists() else out.parent, dirs, options)
               for t in tables]
    html = env.get_template("report.html.j2").render(tables=context, sources=[str(d) for d in dirs],
                                                     problems=problems)
    return html, problems + [m for t in tables for m in t.refused]


def write_report(dirs: Iterable[str | Path], out: str | Path, references: Iterable[str | Path] = (),
                 options: StatsOptions = StatsOptions()) -> list[str]:
    """Write the report atomically; returns the messages for stderr."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    html, messages = render(dirs, out, references, options)
    atomic_write_text(out, html)
    return messages
