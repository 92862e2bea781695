"""Records directories: append records, refuse mixed protocols, regenerate the markdown tables.

A records directory holds ``<benchmark>/<label>/seed<k>-<config hash>.json`` files (aegan.records),
``<benchmark>/protocol.json`` (the table's protocol, written by the first ``compare --records``)
and optionally ``references.yaml`` (published rows, marked as such). Several directories, or
one filled from several machines and days, merge: the tables are computed from the records
alone, with ``compare.table``. A record whose protocol hash is not its table's is refused
with a message naming the keys that differ, never mixed in.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from aegan import records as rec
from aegan.checkpoint import atomic_write_json, atomic_write_text
from aegan.config import ConfigError


def add_compute(items: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """``aegan.compute.add_compute`` (imported when a table is built: it needs torch)."""
    from aegan.compute import add_compute as add

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
    compute_notes: list[str] = field(default_factory=list)  # what the compute columns could not count (aegan.compute)

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
                      references=_references(dirs, bench, references))
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
    row_hash: dict[str, str] = {}
    for path, record in sorted(items, key=lambda pr: (pr[1].get("created", ""), str(pr[0]))):
        if record["protocol_hash"] != table.protocol_hash:
            other = rec.protocol_of(record["config"], record["point"])
            table.refused.append(f"{path}: refused from table {table.benchmark}: its protocol "
                                 f"{record['protocol_hash'][:12]} is not the table's {table.protocol_hash[:12]} "
                                 f"({protocol_difference(table.protocol, other)})")
            continue
        label = record["label"]
        if row_hash.setdefault(label, record["row_hash"]) != record["row_hash"]:
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
    marks a row measured by us outside the runs (real data's ceiling) instead of published."""
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
                                                 "kind": str(e.get("kind", "published"))})
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


def as_results(table: Table) -> tuple[list[Any], list[dict[str, Any]]]:
    """The table's records as compare's (jobs, results), the input of ``compare.table``."""
    from aegan.compare import Job

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
    from aegan.compare import format_value

    rows = []
    for ref in table.references:
        cells = [f"*{ref['label']} ({ref.get('kind', 'published')})*", ""]
        for col in columns:
            value, std = ref["metrics"].get(col[1]), ref["std"].get(col[1])
            text = "" if value is None or col[3:] else format_value(value, col[2])
            cells.append(text + (f" ± {format_value(std, col[2])}" if text and std is not None else ""))
        rows.append(cells)
    return rows


def primary_column(columns: list[tuple]) -> tuple | None:
    """The column a table is judged by: a worst-seed ("min") column's metric, else the first
    score (a compute column only when the table has no score)."""
    scores = [c for c in columns if not c[1].startswith("compute/")] or columns
    return next((c for c in scores if c[3:] == ("min",)), scores[0] if scores else None)


def grid_values(table: Table, metric: str) -> dict[str, dict[tuple, float]]:
    """For a grid comparison (rows ``method[key=value,...]``): method -> {(point, seed): value}
    of ``metric`` over its finished runs; {} when no row is a grid point."""
    from aegan.compare import parse_row_label

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

    from aegan.compare import format_value

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


def markdown(table: Table, grid_only: bool = False) -> str:
    """One benchmark's markdown: compare's table, then its published rows, for a grid the
    distribution over its settings, and what was refused. ``grid_only``: for a grid
    comparison, the distribution alone (no row per setting)."""
    from aegan.compare import columns_for, table_header
    from aegan.compare import table as compare_table

    jobs, results = as_results(table)
    columns = columns_for(results)
    primary = primary_column(columns)
    summary = grid_summary(table, primary) if primary and table.protocol.get("varied") else ""
    lines = []
    if not (grid_only and summary):
        extra = {table.benchmark: reference_cells(table, columns)}
        lines += [compare_table(jobs, results, extra).rstrip("\n"), ""]
    else:
        first = next((r for _, r in table.records if r["status"] == "ok"), table.records[0][1])
        lines += table_header(table.benchmark, first["data_protocol"], first["steps"])
    if summary:
        lines += [summary, ""]
    lines += [f"protocol hash `{table.protocol_hash[:12]}` ({len(table.records)} records)"]
    lines += [f"- refused: {m}" for m in table.refused] + [f"- note: {m}" for m in table.notes]
    lines += [f"- compute: {m}" for m in table.compute_notes] if not (grid_only and summary) else []
    return "\n".join(lines) + "\n"


def tables_markdown(dirs: Iterable[str | Path], references: Iterable[str | Path] = (),
                    benchmarks: Iterable[str] = (), grid_only: bool = False) -> tuple[str, list[str]]:
    """Every table of the records under ``dirs`` (only those of ``benchmarks`` when given) as
    markdown, and messages for stderr; ``grid_only``: grid comparisons as their distribution."""
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
    messages = problems + [m for t in tables for m in t.refused]
    return "\n".join(markdown(t, grid_only) for t in tables), messages


# -- compare --records ------------------------------------------------------------------------------
def check_plan_protocol(jobs: list[Any], records_dir: str | Path) -> None:
    """Refuse, before any training, a plan whose protocol is not the records directory's."""
    from aegan.compare import dataset_label

    stored = _stored_protocols([Path(records_dir)])
    for job in jobs:
        bench = dataset_label(job.config_path)
        if bench not in stored:
            continue
        protocol = rec.protocol_of(job.config().to_dict(), dict(job.point))
        if rec.canonical_hash(protocol) != stored[bench]["protocol_hash"]:
            raise ConfigError(f"--records {records_dir}: {job.config_path} with these settings is not the protocol "
                              f"of its table {bench} ({protocol_difference(stored[bench]['protocol'], protocol)}); "
                              "give another --records directory, or the same settings")


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
        if stored["protocol_hash"] != record["protocol_hash"]:
            raise ConfigError(f"--records {records_dir}: {run_dir}'s protocol is not its table's "
                              f"({protocol_difference(stored['protocol'], rec.protocol_of(record['config'], record['point']))})")
        insert_row(stored.setdefault("rows", []), record["label"], row_order or [])
        rec.write_record(records_dir / rec.record_name(record), record)
    for bench, stored in protocols.items():
        atomic_write_json(records_dir / bench / rec.PROTOCOL_FILE, stored)
    return messages


# -- generated blocks in markdown files (the README's tables) -------------------------------------
BLOCK = re.compile(r"(?P<open><!-- aegan tables (?P<args>[^\n]*?) -->\n)(?P<body>.*?)(?P<close><!-- /aegan tables -->)",
                   re.DOTALL)


def update_blocks(path: str | Path, check: bool = False) -> tuple[list[str], list[str]]:
    """Regenerate every block of ``path`` between ``<!-- aegan tables DIR... [--references FILE]
    [--benchmark NAME] [--grid-only] -->``
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
        dirs, references, benchmarks, grid_only = _block_arguments(match["args"], path)
        body, problems = tables_markdown([path.parent / d for d in dirs], [path.parent / r for r in references],
                                         benchmarks, grid_only)
        messages.extend(problems)
        body = "\n" + body.strip() + "\n\n"
        if body != match["body"]:
            changed.append(match["args"])
        return match["open"] + body + match["close"]

    new = BLOCK.sub(regenerate, text)
    if changed and not check:
        atomic_write_text(path, new)
    return changed, messages


def _block_arguments(args: str, path: Path) -> tuple[list[str], list[str], list[str], bool]:
    """"DIR [DIR...] [--references FILE]... [--benchmark NAME]... [--grid-only]" of a block's
    opening marker -> (dirs, reference files, benchmarks: the tables to show, all when empty,
    grid_only)."""
    words = shlex.split(args)
    dirs: list[str] = []
    options: dict[str, list[str]] = {"--references": [], "--benchmark": []}
    grid_only = False
    while words:
        word = words.pop(0)
        if word == "--grid-only":
            grid_only = True
        elif word in options and words:
            options[word].append(words.pop(0))
        elif word.startswith("-"):
            raise ConfigError(f"{path}: block '<!-- aegan tables {args} -->': unknown option {word} "
                              "(a block takes records directories, --references FILE, --benchmark NAME and --grid-only)")
        else:
            dirs.append(word)
    if not dirs:
        raise ConfigError(f"{path}: block '<!-- aegan tables {args} -->' names no records directory")
    return dirs, options["--references"], options["--benchmark"], grid_only
