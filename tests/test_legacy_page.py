"""The legacy 2D page (docs/results/toy2d_legacy.md) holds hand-pasted rows from before records.

Issue 27: no row of that page may stand without records behind it. Each row is superseded
once its method has records (3 seeds at least) in ``benchmarks/results/toy2d``; since
2026-12-07 every row is, and a row added to the page without them fails here.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from aegan.results.tables import build_tables

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "results" / "toy2d_legacy.md"
RECORDS = ROOT / "benchmarks" / "results" / "toy2d"
MIN_SEEDS = 3


def page_rows(text: str) -> set[tuple[str, str]]:
    """(mixture, row) for every measured row of the page's tables (published rows are italic)."""
    rows, mixture = set(), None
    for line in text.splitlines():
        heading = re.match(r"## (\w+)\s*$", line)
        if heading:
            mixture = heading[1]
        row = re.match(r"\| ([a-z][a-z0-9_]*) \| \d", line)
        if row and mixture:
            rows.add((mixture, row[1]))
    return rows


@cache
def table_seeds() -> dict[tuple[str, str], set[int]]:
    """(mixture, row) -> the seeds its table holds (records refused from a table do not count)."""
    seeds: dict[tuple[str, str], set[int]] = {}
    for table in build_tables([RECORDS])[0]:
        for _, record in table.records:
            seeds.setdefault((table.benchmark, record["label"]), set()).add(record["seed"])
    return seeds


def recorded_seeds(mixture: str, row: str) -> int:
    return len(table_seeds().get((mixture, row), ()))


def test_page_rows_are_found():
    rows = page_rows(PAGE.read_text())
    assert {m for m, _ in rows} == {"ring8", "grid25"}
    assert ("ring8", "nsgan") in rows and ("grid25", "gan_mb") in rows and len(rows) > 50


def test_every_legacy_row_has_records():
    lacking = {(m, r) for m, r in page_rows(PAGE.read_text()) if recorded_seeds(m, r) < MIN_SEEDS}
    assert not lacking, (f"legacy rows with fewer than {MIN_SEEDS} seeds of records: {sorted(lacking)}; run "
                         "benchmarks/toy2d.py --seeds 0-2 --records benchmarks/results/toy2d for them")
