"""The legacy 2D page (docs/results/toy2d_legacy.md) holds hand-pasted rows from before records.

Issue 27: no row of that page may stand without records behind it. Each row is superseded
once its method has records (3 seeds at least) in ``benchmarks/results/toy2d``; the rows not
yet re-measured are listed here by name, so that the list shrinks as records land and a test
fails both when a listed row gains its records (strike it) and when a page row lacks them.
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

# (mixture, row) pending re-measurement (benchmarks/toy2d.py --seeds 0-2 --records): none since
# 2026-12-07; a row added to the page without records fails below
NOT_YET_RECORDED: set[tuple[str, str]] = set()


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


def test_every_legacy_row_has_records_or_is_listed_as_pending():
    lacking = {(m, r) for m, r in page_rows(PAGE.read_text()) if recorded_seeds(m, r) < MIN_SEEDS}
    landed = NOT_YET_RECORDED - lacking
    assert not landed, f"these rows now have >= {MIN_SEEDS} seeds of records: strike them from NOT_YET_RECORDED: {sorted(landed)}"
    assert lacking <= NOT_YET_RECORDED, f"legacy rows without records: {sorted(lacking - NOT_YET_RECORDED)}"
