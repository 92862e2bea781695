"""Records directories: append records, refuse mixed protocols, regenerate the markdown tables.

A records directory holds ``<benchmark>/<label>/seed<k>-<config hash>.json`` files (aegan.results.records),
``<benchmark>/protocol.json`` (the table's protocol, written by the first ``compare --records``)
and optionally ``references.yaml`` (published rows, marked as such). Several directories, or
one filled from several machines and days, merge: the tables are computed from the records
alone, with ``compare.table``. A record whose protocol hash is not its table's is refused
with a message naming the keys that differ, never mixed in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from aegan.results import records as rec
from aegan.checkpoint import atomic_write_json, atomic_write_text
from aegan.config import ConfigError
from aegan.results.cells import comparison_markdown, difference_cell, mean_column, primary_column


def add_compute(items: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """``aegan.results.compute.add_compute`` (imported when a table is built: it needs torch)."""
    from aegan.results.compute import add_compute as add

    return add(items)


@dataclass
class Table:
    """The accepted records of one benchmark, in row order, and what was left out and why."""

    benchmark: str
    protocol_hash: str
    protocol: dict[str, Any]
    records: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    baseline: str | None = None  # the records directory's default baseline row (baselines.yaml)
    compute_notes: list[str] = field(default_factory=list)  # what the compute columns could not count (aegan.results.compute)

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """label -> its records, ordered by seed."""
        out: dict[str, list[dict[str, Any]]] = {}
        for _, record in self.records:
            out.setdefault(record["label"], []).append(record)
        return {k: sorted(v, key=lambda r: r["seed"]) for k, v in out.items()}


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in _flat(val, f"{prefix}{key}.").items()}
    return {prefix[:-1]: obj}


def protocol_difference(table: dict[str, Any], other: dict[str, Any], limit: int = 4) -> str:
    """The first keys where two protocols differ: "train.steps: 1500 (table) != 3000"."""
    a, b = _flat(table.get("config", table)), _flat(other.get("config", other))
    a["varied"], b["varied"] = table.get("varied"), other.get("varied")
    keys = sorted(k for k in a.keys() | b.keys() if a.get(k, "<absent>") != b.get(k, "<absent>"))
    text = "; ".join(f"{k}: {a.get(k, '<absent>')!r} (table) != {b.get(k, '<absent>')!r}" for k in keys[:limit])
    return text + (f"; and {len(keys) - limit} more" if len(keys) > limit else "")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _stored_protocols(dirs: list[Path]) -> dict[str, dict[str, Any]]:
    """benchmark -> protocol.json content; the first directory that has one decides."""
    out: dict[str, dict[str, Any]] = {}
    for root in dirs:
        for path in sorted(root.glob(f"*/{rec.PROTOCOL_FILE}")):
            stored = _read_json(path)
            if isinstance(stored, dict) and "protocol_hash" in stored:
                out.setdefault(path.parent.name, stored)
    return out


def _row_order(dirs: list[Path], protocols: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Rows as compare ordered them: protocol.json's ``rows``, else results.json's order."""
    order = {b: list(p.get("rows", [])) for b, p in protocols.items()}
    for root in dirs:
        results = _read_json(root / "results.json")
        for item in results if isinstance(results, list) else []:
            bench = Path(str(item.get("config", ""))).stem
            labels = order.setdefault(bench, [])
            if item.get("label") not in labels:
                labels.append(item.get("label"))
    return order


def build_tables(dirs: Iterable[str | Path], references: Iterable[str | Path] = ()) -> tuple[list[Table], list[str]]:
    """The tables of the records under ``dirs``, one per benchmark, and messages about files
    that were not records. The table's protocol is the benchmark's protocol.json (the first
    directory that has one), else the protocol most records share (ties: the first in path order)."""
    dirs, references = [Path(d) for d in dirs], [Path(p) for p in references]
    found, problems = rec.load_records(dirs)
    protocols = _stored_protocols(dirs)
    by_bench: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for path, record in found:
        by_bench.setdefault(record["benchmark"], []).append((path, record))
    order = _row_order(dirs, protocols)
    baselines = load_baselines(dirs)
    tables = []
    for bench, items in by_bench.items():
        stored = protocols.get(bench)
        if stored is None:
            counts: dict[str, int] = {}
            for _, r in items:
                counts[r["protocol_hash"]] = counts.get(r["protocol_hash"], 0) + 1
            best = max(counts, key=lambda h: counts[h])  # first of the most frequent (dicts keep order)
            first = next(r for _, r in items if r["protocol_hash"] == best)
            stored = {"protocol_hash": best, "protocol": rec.protocol_of(first["config"], first["point"])}
        table = Table(bench, stored["protocol_hash"], stored["protocol"],
                      references=_references(dirs, bench, references), baseline=baselines.get(bench))
        _accept(table, items)
        table.compute_notes = add_compute(table.records)  # G/D updates, seconds, FLOPs as metrics
        rank = {label: i for i, label in enumerate(order.get(bench, []))}
        table.records.sort(key=lambda pr: (rank.get(pr[1]["label"], len(rank)), pr[1]["label"], pr[1]["seed"]))
        tables.append(table)
    first_recorded = lambda t: min(r.get("created", "") for _, r in t.records) if t.records else ""  # noqa: E731
    return sorted(tables, key=lambda t: (first_recorded(t), t.benchmark)), problems  # in the order they were run


def _accept(table: Table, items: list[tuple[Path, dict[str, Any]]]) -> None:
    """Refuse records of another protocol, or of another setting under a row's label; keep the
    newest record of a (label, seed) that was recorded twice."""
    chosen: dict[tuple[str, int], tuple[Path, dict[str, Any]]] = {}
    first_of_row: dict[str, dict[str, Any]] = {}
    for path, record in sorted(items, key=lambda pr: (pr[1].get("created", ""), str(pr[0]))):
        other = None if record["protocol_hash"] == table.protocol_hash else rec.protocol_of(record["config"],
                                                                                            record["point"])
        if other is not None and not rec.same_protocol(table.protocol, other):
            table.refused.append(f"{path}: refused from table {table.benchmark}: its protocol "
                                 f"{record['protocol_hash'][:12]} is not the table's {table.protocol_hash[:12]} "
                                 f"({protocol_difference(table.protocol, other)})")
            continue
        label = record["label"]
        if not rec.same_row(first_of_row.setdefault(label, record), record):
            table.refused.append(f"{path}: refused from table {table.benchmark}: row {label!r} already holds "
                                 "records of another method setting or grid point under this label")
            continue
        key = (label, record["seed"])
        if key in chosen and chosen[key][1] == record:  # the same record in two directories
            continue
        if key in chosen:
            table.notes.append(f"{label} seed {record['seed']}: recorded twice ({chosen[key][0]} and {path}); "
                               "the newer is used")
        chosen[key] = (path, record)
    table.records = list(chosen.values())


def load_references(path: Path, benchmark: str) -> list[dict[str, Any]]:
    """Published rows for a benchmark from a references file: a YAML list of
    ``{config, method, metric, value[, std], source[, note][, kind]}`` (the format of
    benchmarks/references.yaml), one entry per number. An entry belongs to the benchmark when
    its ``config`` is the benchmark's name or a prefix of it before "_" (``cifar10_table3``
    for ``cifar10_table3_cpu``). Entries of one ``source`` make one row; ``kind: measured``
    marks a row measured by us outside the runs (real data's ceiling) instead of published;
    ``method`` names the row of ours the number belongs beside (``--rows`` keeps a published
    row only beside its own)."""
    try:
        entries = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return []
    rows: dict[str, dict[str, Any]] = {}
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or not {"config", "metric", "value", "source"} <= e.keys():
            continue
        config = str(e["config"])
        if benchmark != config and not benchmark.startswith(config + "_"):
            continue
        row = rows.setdefault(str(e["source"]), {"label": str(e["source"]), "metrics": {}, "std": {}, "notes": [],
                                                 "kind": str(e.get("kind", "published")), "methods": []})
        method = str(e.get("method", "-"))
        if method not in row["methods"]:
            row["methods"].append(method)
        row["metrics"][e["metric"]] = e["value"]
        if e.get("std") is not None:
            row["std"][e["metric"]] = e["std"]
        if e.get("note"):
            row["notes"].append(str(e["note"]))
    return list(rows.values())


def _references(dirs: list[Path], benchmark: str, extra: list[Path]) -> list[dict[str, Any]]:
    """Published rows: from each directory's references.yaml, then from the ``extra`` files."""
    for path in [d / rec.REFERENCES_FILE for d in dirs] + list(extra):
        rows = load_references(path, benchmark)
        if rows:
            return rows
    return []


BASELINES_FILE = "baselines.yaml"  # a records directory's default baseline row per benchmark
DEFAULT_BASELINES = ("nsgan", "gan")  # without one: the first of these that is a row of the table


def load_baselines(dirs: list[Path]) -> dict[str, str]:
    """benchmark -> its baseline row, from each directory's ``baselines.yaml`` (a mapping
    ``{benchmark: row}``); the first directory that names a benchmark decides."""
    out: dict[str, str] = {}
    for root in dirs:
        try:
            mapping = yaml.safe_load((Path(root) / BASELINES_FILE).read_text())
        except (OSError, yaml.YAMLError):
            continue
        for bench, row in (mapping.items() if isinstance(mapping, dict) else ()):
            out.setdefault(str(bench), str(row))
    return out


def as_results(table: Table) -> tuple[list[Any], list[dict[str, Any]]]:
    """The table's records as compare's (jobs, results), the input of ``compare.table``."""
    from aegan.results.rows import Job

    jobs, results = [], []
    for path, r in table.records:
        jobs.append(Job(table.benchmark, r["label"], r["seed"], str(path.parent), ()))
        result = {"method": r["method"], "seed": r["seed"], "step": r["steps"], "protocol": r["data_protocol"],
                  "time_per_step_ms": r["time_per_step_ms"], "metrics": r["metrics"],
                  "term_gradients": rec.term_gradients(r.get("series") or {})}
        if r["status"] != "ok":
            result["diverged"] = r.get("reason") or r["status"]
        results.append(result)
    return jobs, results


def reference_cells(table: Table, columns: list[tuple]) -> list[list[str]]:
    """Reference rows as table cells: the label in italics with "(published)" (or "(measured)"),
    blank where a column has no reference value (seeds, the worst seed, timing)."""
    from aegan.results.cells import format_value

    rows = []
    for ref in table.references:
        cells = [f"*{ref['label']} ({ref.get('kind', 'published')})*", ""]
        for col in columns:
            value, std = ref["metrics"].get(col[1]), ref["std"].get(col[1])
            text = "" if value is None or col[3:] else format_value(value, col[2])
            cells.append(text + (f" ± {format_value(std, col[2])}" if text and std is not None else ""))
        rows.append(cells)
    return rows


def grid_values(table: Table, metric: str) -> dict[str, dict[tuple, float]]:
    """For a grid comparison (rows ``method[key=value,...]``): method -> {(point, seed): value}
    of ``metric`` over its finished runs; {} when no row is a grid point."""
    from aegan.results.rows import parse_row_label

    values: dict[str, dict[tuple, float]] = {}
    for _, record in table.records:
        method, point = parse_row_label(record["label"])
        value = record["metrics"].get(metric)
        if point and record["status"] == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
            values.setdefault(method, {})[(point, record["seed"])] = float(value)
    return values


def measured_reference(table: Table, metric: str) -> tuple[str, float] | None:
    """The first ``kind: measured`` reference row's (label, value) of ``metric`` (real data's
    score under the same protocol), or None."""
    for ref in table.references:
        value = ref["metrics"].get(metric)
        if ref.get("kind") == "measured" and isinstance(value, (int, float)) and math.isfinite(value):
            return ref["label"], float(value)
    return None


def grid_distribution(table: Table, column: tuple) -> dict[str, Any] | None:
    """The distribution of a grid comparison's metric over its settings, per method (001
    Table 1 / Fig. 3's question: how often does a method train well?): runs, median,
    quartiles, best; with a measured real-data row, the share of runs that reach half of real
    data's score (at most twice it for a lower-is-better metric); for two methods, in how
    many shared settings each is higher. ``{"title", "head", "rows", "real_row", "notes"}``
    (cells as text; ``real_row`` the measured reference or None), or None when no row is a grid
    point."""
    import numpy as np

    from aegan.results.cells import format_value

    values = grid_values(table, column[1])
    if not values:
        return None
    digits, lower = column[2], column[1] in rec.LOWER_IS_BETTER
    real = measured_reference(table, column[1])
    threshold = None if real is None else (2 * real[1] if lower else real[1] / 2)
    head = ["method", "runs", "median", "quartiles", "best"]
    if threshold is not None:
        head.append(f"share {'<=' if lower else '>='} {format_value(threshold, digits)}")
    rows, notes = [], []
    for method, by_point in values.items():
        v = np.array(list(by_point.values()))
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        best = v.min() if lower else v.max()
        cells = [method, str(len(v)), format_value(med, digits),
                 f"{format_value(q1, digits)} - {format_value(q3, digits)}", format_value(best, digits)]
        if threshold is not None:
            cells.append(f"{np.mean(v <= threshold if lower else v >= threshold):.2f}")
        rows.append(cells)
    real_row = None if real is None else [real[0], "", format_value(real[1], digits), "", "",
                                          *([""] if threshold is not None else [])]
    if len(values) == 2:
        (a, va), (b, vb) = values.items()
        shared = sorted(va.keys() & vb.keys(), key=str)
        higher = sum(va[k] > vb[k] for k in shared)
        lower_count = sum(va[k] < vb[k] for k in shared)
        notes.append(f"Paired by setting and seed: {a} is higher than {b} in {higher} of {len(shared)}, "
                     f"lower in {lower_count}.")
    if threshold is not None:
        notes.append(f"The share column counts runs {'at most twice' if lower else 'at least half'} "
                     f"the measured real-data value ({format_value(real[1], digits)}).")
    return {"title": f"{column[0]} over the grid's settings (settings x seeds, each run once)",
            "head": head, "rows": rows, "real_row": real_row, "notes": notes}


def grid_summary(table: Table, column: tuple) -> str:
    """``grid_distribution`` as markdown ("" when no row is a grid point)."""
    dist = grid_distribution(table, column)
    if dist is None:
        return ""
    lines = [dist["title"] + ":", "", "| " + " | ".join(dist["head"]) + " |", "|" + "---|" * len(dist["head"])]
    rows = dist["rows"] + ([[f"*{dist['real_row'][0]} (measured)*", *dist["real_row"][1:]]] if dist["real_row"] else [])
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    for note in dist["notes"]:
        lines += ["", note]
    return "\n".join(lines)


# -- the table's statistics: tests against its baseline row, seeds needed (aegan.results.stats) --------------
@dataclass(frozen=True)
class StatsOptions:
    """How a table's statistics are computed: the baseline row (None: the records directory's
    ``baselines.yaml``, else nsgan, else gan; "none": no tests), the test, the interval, and
    ``power``: "[METRIC=]DELTA" for a column of seeds needed (None: no column); ``rows``: "A,B"
    to show (and test) only those rows."""

    baseline: str | None = None
    test: str = "welch"
    interval: str = "t"
    power: str | None = None
    # --versus A,B: instead of the tables, the matrix of rows against reference rows (aegan.results.versus)
    versus: str | None = None
    versus_rows: str | None = None
    versus_metric: str | None = None
    rows: str | None = None  # --rows A,B: only these rows, in this order (the tests' Holm family)

    def __post_init__(self):
        from aegan.results.stats import INTERVALS, TESTS

        if self.test not in TESTS:
            raise ConfigError(f"--test {self.test}: one of {', '.join(TESTS)}")
        if self.interval not in INTERVALS:
            raise ConfigError(f"--interval {self.interval}: one of {', '.join(INTERVALS)}")
        if self.power is not None:
            parse_power(self.power)
        if (self.versus_rows or self.versus_metric) and not self.versus:
            raise ConfigError("--versus-rows and --versus-metric go with --versus A,B (the reference rows)")
        if self.versus is not None:
            from aegan.results.versus import Versus

            Versus.parse(self.versus, self.versus_rows, self.versus_metric)


def parse_power(spec: str) -> tuple[str | None, float]:
    """``--power``: "DELTA" (the table's primary metric) or "METRIC=DELTA" (a metric key such as
    ``mnist_modes/modes`` or a column title such as ``modes``) -> (metric or None, DELTA > 0)."""
    metric, _, text = spec.rpartition("=")
    try:
        delta = float(text)
    except ValueError:
        delta = math.nan
    if not (math.isfinite(delta) and delta > 0):
        raise ConfigError(f"--power {spec}: give DELTA or METRIC=DELTA with DELTA > 0, the difference of means to "
                          "detect (e.g. --power 100 or --power modes=100)")
    return metric.strip() or None, delta


def baseline_row(table: Table, requested: str | None) -> tuple[str | None, str]:
    """The table's baseline row and, when there is none, why."""
    rows = table.rows()
    if requested == "none":
        return None, "no tests (--baseline none)"
    if requested is not None:
        return (requested, "") if requested in rows else (None, f"no tests: --baseline {requested} is not a row of "
                                                                f"this table ({', '.join(rows)})")
    if table.baseline is not None:
        return (table.baseline, "") if table.baseline in rows else (
            None, f"no tests: its baseline {table.baseline} ({BASELINES_FILE}) has no records here")
    found = next((b for b in DEFAULT_BASELINES if b in rows), None)
    return found, "" if found else (f"no tests: no baseline row (none in {BASELINES_FILE}, no "
                                    f"{' or '.join(DEFAULT_BASELINES)} row; --baseline ROW names one)")


def _tested_columns(columns: list[tuple], values: dict[str, dict[str, list]], baseline: str) -> list[tuple]:
    """The mean columns a row is tested on: not a worst-seed column, a step or a method's state,
    and the baseline has a value."""
    from aegan.results.stats import finite

    return [c for c in columns if not c[3:] and not c[1].startswith(("best_step/", "method/"))
            and len(finite(values[baseline][c[1]]))]


def _power_column(columns: list[tuple], spec: str) -> tuple[tuple, float]:
    metric, delta = parse_power(spec)
    means = [c for c in columns if not c[3:]]
    chosen = mean_column(columns, metric)
    if chosen is None:
        raise ConfigError(f"--power {spec}: no such metric in this table; its columns: "
                          f"{', '.join(f'{c[0]} ({c[1]})' for c in means)}")
    return chosen, delta


def baseline_comparison(table: Table, columns: list[tuple], options: StatsOptions) -> dict[str, Any]:
    """Every other row against the table's baseline row: per tested column (``_tested_columns``)
    the difference of means with its interval and the p-value of ``options.test``,
    Holm-adjusted over the rows of that column (rows without a test are not counted), and
    "better"/"worse" (a metric without a better side: "higher"/"lower") where the adjusted p is
    below stats.ALPHA; with ``options.power``, the seeds each row and the baseline would need
    (``stats.row_seeds_needed``). ``{"baseline", "why", "title", "head", "rows", "notes"}``: the
    rows' cells as ``{"text", "mark"}`` (``mark`` None, "n.s.", or the significant difference's
    word); ``baseline`` None (with ``why``) when the table has none."""
    from aegan.results.cells import format_value
    from aegan.results.stats import ALPHA, BOOTSTRAP_RESAMPLES, POWER, difference, holm, row_seeds_needed

    baseline, why = baseline_row(table, options.baseline)
    if baseline is None:
        return {"baseline": None, "why": why}
    seeds = table.rows()
    values = {label: {c[1]: [r["metrics"].get(c[1]) for r in recs] for c in columns} for label, recs in seeds.items()}
    tested = _tested_columns(columns, values, baseline)
    power = _power_column(columns, options.power) if options.power else None
    others = [label for label in values if label != baseline]
    diffs = {c[1]: [difference(values[label][c[1]], values[baseline][c[1]], options.test, options.interval)
                    for label in others] for c in tested}
    adjusted = {key: holm([d.p for d in ds]) for key, ds in diffs.items()}
    rows = []
    for i, label in enumerate(others):
        cells = []
        for c in tested:
            cells.append(difference_cell(diffs[c[1]][i], adjusted[c[1]][i], c))
        if power:
            n, reason = row_seeds_needed(values[label][power[0][1]], values[baseline][power[0][1]], power[1])
            cells.append({"text": str(n) if n is not None else reason, "mark": None})
        rows.append({"label": label, "seeds": len(seeds[label]), "cells": cells})
    test = {"welch": "two-sided Welch t-test", "mannwhitney": "two-sided Mann-Whitney U test"}[options.test]
    interval = ("Welch's 95 % interval (Welch-Satterthwaite df)" if options.interval == "t" else
                f"95 % bootstrap percentile interval ({BOOTSTRAP_RESAMPLES:,} resamples of each row's seeds)")
    notes = [f"Each cell: the row's mean minus {baseline}'s [{interval} of that difference], then the p-value of a "
             f"{test}, Holm-adjusted over the tested rows of its column (at most {len(others)}: rows with fewer "
             "than 2 seeds, or no spread in either row, are not tested; the interval is not adjusted). better / "
             f"worse (higher / lower where the metric has no better side): significant at {ALPHA}; n.s.: not "
             "significant at these seeds."]
    if options.test == "mannwhitney":
        notes.append("Mann-Whitney U compares ranks: with 2 seeds per row its smallest two-sided p is 1/3, with 3 "
                     "seeds 0.1, so it cannot reach 0.05 below 4 seeds per row.")
    head = [c[0] for c in tested]
    if power:
        head.append(f"seeds for a difference of {format_value(power[1], power[0][2])} in {power[0][0]} "
                    f"({POWER * 100:.0f} % power)")
        notes.append(f"Seeds: how many seeds in this row and in {baseline} each (the same number) give a two-sided "
                     f"Welch t-test at {ALPHA} an {POWER * 100:.0f} % chance to detect a true difference of "
                     f"{format_value(power[1], power[0][2])} in {power[0][0]}, taking the observed sample standard "
                     "deviations as the true ones (a row with one seed borrows the other's spread; noncentral t).")
    return {"baseline": baseline, "why": "", "title": f"vs baseline {baseline} (row - {baseline})",
            "head": head, "rows": rows, "notes": notes}


def baseline_markdown(comparison: dict[str, Any]) -> list[str]:
    """``baseline_comparison`` as markdown lines (a significant difference's word in bold)."""
    if comparison["baseline"] is None:
        return [comparison["why"].capitalize() + "."]
    return comparison_markdown(comparison)


def markdown(table: Table, grid_only: bool = False, options: StatsOptions = StatsOptions()) -> str:
    """One benchmark's markdown: compare's table with its published rows, the rows against
    the baseline (``baseline_comparison``), for a grid the distribution over its settings, and
    what was refused. ``grid_only``: for a grid comparison, the distribution alone (no row per
    setting, no tests)."""
    from aegan.results.cells import columns_for, table_header
    from aegan.results.cells import table as compare_table

    table = shown_table(table, options)
    jobs, results = as_results(table)
    columns = columns_for(results)
    if options.versus:
        from aegan.results.versus import Versus, versus_comparison, versus_markdown

        versus = Versus.parse(options.versus, options.versus_rows, options.versus_metric)
        return "\n".join(versus_markdown(versus_comparison(table, columns, versus, options.test,
                                                            options.interval))) + "\n"
    primary = primary_column(columns)
    summary = grid_summary(table, primary) if primary and table.protocol.get("varied") else ""
    lines = []
    if not (grid_only and summary):
        extra = {table.benchmark: reference_cells(table, columns)}
        lines += [compare_table(jobs, results, extra, options.interval).rstrip("\n"), ""]
        lines += [*baseline_markdown(baseline_comparison(table, columns, options)), ""]
    else:
        first = next((r for _, r in table.records if r["status"] == "ok"), table.records[0][1])
        lines += table_header(table.benchmark, first["data_protocol"], first["steps"])
    if summary:
        lines += [summary, ""]
    lines += [f"protocol hash `{table.protocol_hash[:12]}` ({len(table.records)} records)"]
    lines += [f"- refused: {m}" for m in table.refused] + [f"- note: {m}" for m in table.notes]
    lines += [f"- compute: {m}" for m in table.compute_notes] if not (grid_only and summary) else []
    return "\n".join(lines) + "\n"


def shown_table(table: Table, options: StatsOptions) -> Table:
    """``table`` as ``options`` show it: the ``--rows`` alone when given, the baseline among them."""
    if not options.rows:
        return table
    base, _ = baseline_row(table, options.baseline)
    shown = only_rows(table, options.rows)
    if base is not None and base not in shown.rows() and not options.versus:
        raise ConfigError(f"--rows {options.rows}: the baseline row {base} of {table.benchmark} is not among them; "
                          "add it, or name another with --baseline ROW (--baseline none: no tests)")
    return shown


def only_rows(table: Table, rows: str) -> Table:
    """``table`` with the records of ``rows`` ("A,B": row labels) alone, in that order, and the
    reference rows of those methods (and every measured one); a row the table lacks is an
    error that lists the table's rows."""
    wanted, present = [r for r in rows.split(",") if r], table.rows()
    unknown = [r for r in wanted if r not in present]
    if unknown:
        raise ConfigError(f"--rows: {', '.join(unknown)} not a row of {table.benchmark} "
                          f"(rows: {', '.join(present)})")
    kept = sorted((item for item in table.records if item[1]["label"] in wanted),
                  key=lambda item: wanted.index(item[1]["label"]))
    # a published row stays beside its own method's row; a measured one (real data) always
    references = [ref for ref in table.references
                  if ref.get("kind") == "measured" or set(ref.get("methods", ())) & set(wanted)]
    return dataclasses.replace(table, records=kept, references=references,
                               notes=[*table.notes, f"rows shown: {rows} (--rows)"],
                               compute_notes=add_compute(kept))  # the shown rows' notes alone


def tables_markdown(dirs: Iterable[str | Path], references: Iterable[str | Path] = (),
                    benchmarks: Iterable[str] = (), grid_only: bool = False,
                    options: StatsOptions = StatsOptions()) -> tuple[str, list[str]]:
    """Every table of the records under ``dirs`` (only those of ``benchmarks`` when given) as
    markdown, and messages for stderr; ``grid_only``: grid comparisons as their distribution;
    ``options``: the baseline, test, interval and power of the tables' statistics."""
    dirs, benchmarks = list(dirs), list(benchmarks)
    tables, problems = build_tables(dirs, references)
    if not tables:
        raise ConfigError(f"no aegan records under {', '.join(map(str, dirs))} "
                          "(records are written by every run; `aegan compare --records DIR` collects them)")
    if benchmarks:
        unknown = sorted(set(benchmarks) - {t.benchmark for t in tables})
        if unknown:
            raise ConfigError(f"no records of benchmark(s) {', '.join(unknown)} under {', '.join(map(str, dirs))}; "
                              f"those have: {', '.join(t.benchmark for t in tables)}")
        tables = [t for t in tables if t.benchmark in benchmarks]
    check_baseline(tables, options)
    messages = problems + [m for t in tables for m in t.refused]
    return "\n".join(markdown(t, grid_only, options) for t in tables), messages


def check_baseline(tables: list[Table], options: StatsOptions) -> None:
    """Refuse a ``--baseline`` that is a row of none of the tables (a typo would drop every test)."""
    if options.baseline not in (None, "none") and not any(options.baseline in t.rows() for t in tables):
        raise ConfigError(f"--baseline {options.baseline}: not a row of "
                          f"{', '.join(t.benchmark for t in tables)} (rows: "
                          f"{', '.join(dict.fromkeys(label for t in tables for label in t.rows()))})")


def seeds_plan(records_dir: str | Path, plan_rows: dict[str, list[str]], spec: str,
               baseline: str | None = None) -> list[str]:
    """``compare --dry-run --power [METRIC=]DELTA --records DIR``: per benchmark of the plan and
    per row, the seeds its records say are needed (``stats.row_seeds_needed`` against the
    table's baseline row) and the ``--seeds`` range that adds the missing ones."""
    from aegan.results.cells import columns_for
    from aegan.results.stats import POWER, row_seeds_needed

    tables = {t.benchmark: t for t in build_tables([records_dir])[0]}
    lines = []
    for bench, rows in plan_rows.items():
        table = tables.get(bench)
        base, why = baseline_row(table, baseline) if table else (None, f"no records in {records_dir}")
        if base is None:
            lines.append(f"{bench}: seeds needed unknown: {why}")
            continue
        column, delta = _power_column(columns_for(as_results(table)[1]), spec)
        recorded = table.rows()
        values = {label: [r["metrics"].get(column[1]) for r in recs] for label, recs in recorded.items()}
        lines.append(f"{bench}: seeds per row to detect a difference of {delta:g} in {column[0]} from {base} at "
                     f"{POWER * 100:.0f} % power (two-sided Welch t-test at 0.05, the records' spreads):")
        needs = {}
        for label in rows:
            if label == base:
                continue
            if label not in values:
                lines.append(f"  {label}: no records yet (run its first seeds)")
                continue
            n, reason = row_seeds_needed(values[label], values[base], delta)
            needs[label] = n
            text = f"{n} seeds" if n else f"{reason} seeds" if reason.startswith(">") else f"unknown ({reason})"
            lines.append(f"  {label}: {text}" + _missing(recorded[label], n))
        most = max((n for n in needs.values() if n), default=None)
        lines.append(f"  {base} (baseline): {most or 'n/a'} seeds, the most a row needs"
                     + _missing(recorded[base], most))
    return lines


def _missing(records: list[dict[str, Any]], needed: int | None) -> str:
    """" (2 recorded; --seeds 2-9 adds 8)": the next seeds after the recorded ones."""
    seeds = sorted(r["seed"] for r in records)
    text = f" ({len(seeds)} recorded"
    if needed and needed > len(seeds):
        first = seeds[-1] + 1 if seeds else 0
        text += f"; --seeds {first}-{first + needed - len(seeds) - 1} adds {needed - len(seeds)}"
    return text + ")"


# -- compare --records ------------------------------------------------------------------------------
def check_plan_protocol(jobs: list[Any], records_dir: str | Path) -> None:
    """Refuse, before any training, a plan whose protocol is not the records directory's."""
    from aegan.results.rows import dataset_label

    stored = _stored_protocols([Path(records_dir)])
    for job in jobs:
        bench = dataset_label(job.config_path)
        if bench not in stored:
            continue
        protocol = rec.protocol_of(job.config().to_dict(), dict(job.point))
        if not rec.same_protocol(stored[bench]["protocol"], protocol):
            raise ConfigError(f"--records {records_dir}: {job.config_path} with these settings is not the protocol "
                              f"of its table {bench} ({protocol_difference(stored[bench]['protocol'], protocol)}); "
                              "give another --records directory, or the same settings")


def check_plan_for_records(jobs: list[Any], records_dir: str | Path) -> None:
    """Both refusals of ``--records``, before any training: another protocol, or a record replaced."""
    check_plan_protocol(jobs, records_dir)
    check_plan_replaces_nothing(jobs, records_dir)


def check_plan_replaces_nothing(jobs: list[Any], records_dir: str | Path) -> None:
    """Refuse, before any training, a plan that would train again a row and seed the records
    directory already holds (a slip such as ``--seeds 2``, a count, for the seed ``2-2``) and
    so replace its record. A finished run reused from ``--out`` whose record is the stored one
    passes (re-running an interrupted table's command is safe)."""
    from aegan.results.rows import dataset_label

    clashes = []
    for job in jobs:
        stored = sorted((Path(records_dir) / dataset_label(job.config_path) / job.row).glob(f"seed{job.seed}-*.json"))
        if not stored:
            continue
        local = rec.read_record(Path(job.run_dir) / rec.RECORD_FILE)
        if local is None or any(rec.read_record(path) != local for path in stored):
            clashes.append(f"{job.row} seed {job.seed} ({stored[0].relative_to(records_dir)})")
    if clashes:
        raise ConfigError(f"--records {records_dir} already holds {len(clashes)} of this plan's runs, whose records "
                          "it would replace (the run trains again, or its run directory holds another record): "
                          f"{'; '.join(clashes[:6])}"
                          f"{' ...' if len(clashes) > 6 else ''}. Run the seeds not yet recorded (--seeds A-B is a "
                          "range; --seeds N means the N seeds 0..N-1), or delete those record files first to re-run them")


def insert_row(rows: list[str], label: str, order: list[str]) -> None:
    """Add ``label`` to a table's ``rows`` in place: after the last row that comes before it
    in ``order`` (a plan's rows), so rows arriving in any order keep the plan's; else at the end."""
    if label in rows:
        return
    if label in order:
        before = set(order[:order.index(label)])
        after = set(order[order.index(label) + 1:])
        preceding = [i for i, row in enumerate(rows) if row in before]
        following = [i for i, row in enumerate(rows) if row in after]
        if preceding:
            rows.insert(preceding[-1] + 1, label)
            return
        if following:
            rows.insert(following[0], label)
            return
    rows.append(label)


def append_records(run_dirs: list[Path], records_dir: str | Path, row_order: list[str] | None = None) -> list[str]:
    """Copy the runs' record.json into the records directory (atomic writes), writing each
    benchmark's protocol.json from its first record and adding new rows in ``row_order`` (the
    plan's rows; default: the order of ``run_dirs``); returns messages for runs without a record."""
    records_dir = Path(records_dir)
    records_dir.mkdir(parents=True, exist_ok=True)
    with _locked(records_dir / LOCK_FILE):  # array tasks of a cluster may append at the same time
        return _append_locked(run_dirs, records_dir, row_order)


LOCK_FILE = ".append.lock"


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive flock on ``path`` (created if absent) for the block."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _append_locked(run_dirs: list[Path], records_dir: Path, row_order: list[str] | None) -> list[str]:
    messages = []
    protocols = _stored_protocols([records_dir])
    for run_dir in run_dirs:
        record = rec.read_record(run_dir / rec.RECORD_FILE)
        if record is None:
            messages.append(f"{run_dir}: no record.json (a run finished before records existed: "
                            f"`aegan eval {run_dir}` writes one)")
            continue
        bench = record["benchmark"]
        stored = protocols.get(bench)
        if stored is None:
            stored = {"protocol_hash": record["protocol_hash"],
                      "protocol": rec.protocol_of(record["config"], record["point"]), "rows": []}
            protocols[bench] = stored
        protocol = rec.protocol_of(record["config"], record["point"])
        if stored["protocol_hash"] != record["protocol_hash"] and not rec.same_protocol(stored["protocol"], protocol):
            raise ConfigError(f"--records {records_dir}: {run_dir}'s protocol is not its table's "
                              f"({protocol_difference(stored['protocol'], protocol)})")
        insert_row(stored.setdefault("rows", []), record["label"], row_order or [])
        rec.write_record(records_dir / rec.record_name(record), record)
    for bench, stored in protocols.items():
        atomic_write_json(records_dir / bench / rec.PROTOCOL_FILE, stored)
    return messages


# -- generated blocks in markdown files (README.md, docs/results/*.md) -------------------------
BLOCK = re.compile(r"(?P<open><!-- aegan tables (?P<args>[^\n]*?) -->\n)(?P<body>.*?)(?P<close><!-- /aegan tables -->)",
                   re.DOTALL)


def holds_blocks(text: str) -> bool:
    """Whether markdown ``text`` holds a generated ``<!-- aegan tables ... -->`` block."""
    return BLOCK.search(text) is not None


def update_blocks(path: str | Path, check: bool = False) -> tuple[list[str], list[str]]:
    """Regenerate every block of ``path`` between ``<!-- aegan tables DIR... [--references FILE]
    [--benchmark NAME] [--grid-only] [--baseline ROW] [--test T] [--interval I] [--power SPEC] -->``
    and ``<!-- /aegan tables -->`` from the records it names (paths relative to the file's
    folder); the rest of the file is kept byte for byte. Returns (the blocks' argument strings
    whose text changed, messages); with ``check`` nothing is written."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--update {path}: no such file")
    text = path.read_text()
    if not BLOCK.search(text):
        raise ConfigError(f"--update {path}: no '<!-- aegan tables DIR -->' ... '<!-- /aegan tables -->' block; "
                          "add one where the tables belong")
    changed: list[str] = []
    messages: list[str] = []

    def regenerate(match: re.Match) -> str:
        dirs, references, benchmarks, grid_only, options = _block_arguments(match["args"], path)
        body, problems = tables_markdown([path.parent / d for d in dirs], [path.parent / r for r in references],
                                         benchmarks, grid_only, options)
        messages.extend(problems)
        body = "\n" + body.strip() + "\n\n"
        if body != match["body"]:
            changed.append(match["args"])
        return match["open"] + body + match["close"]

    new = BLOCK.sub(regenerate, text)
    if changed and not check:
        atomic_write_text(path, new)
    return changed, messages


STATS_FLAGS = {"--baseline": "baseline", "--test": "test", "--interval": "interval", "--power": "power",
               "--versus": "versus", "--versus-rows": "versus_rows", "--versus-metric": "versus_metric",
               "--rows": "rows"}


def _block_arguments(args: str, path: Path) -> tuple[list[str], list[str], list[str], bool, StatsOptions]:
    """"DIR [DIR...] [--references FILE]... [--benchmark NAME]... [--grid-only] [--baseline ROW]
    [--test T] [--interval I] [--power SPEC]" of a block's opening marker -> (dirs, reference
    files, benchmarks: the tables to show, all when empty, grid_only, the statistics' options)."""
    words = shlex.split(args)
    dirs: list[str] = []
    options: dict[str, list[str]] = {"--references": [], "--benchmark": []}
    stats: dict[str, str] = {}
    grid_only = False
    where = f"{path}: block '<!-- aegan tables {args} -->'"
    while words:
        word = words.pop(0)
        if word == "--grid-only":
            grid_only = True
        elif word in options and words:
            options[word].append(words.pop(0))
        elif word in STATS_FLAGS and words:
            stats[STATS_FLAGS[word]] = words.pop(0)
        elif word.startswith("-"):
            raise ConfigError(f"{where}: unknown option {word} (a block takes records directories, --references FILE, "
                              "--benchmark NAME, --grid-only, --baseline ROW, --test T, --interval I, --power SPEC, "
                              "--versus ROWS, --versus-rows ROWS, --versus-metric METRIC and --rows ROWS)")
        else:
            dirs.append(word)
    if not dirs:
        raise ConfigError(f"{where} names no records directory")
    try:
        return dirs, options["--references"], options["--benchmark"], grid_only, StatsOptions(**stats)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
