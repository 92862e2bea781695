"""Rows against several reference rows at once (``aegan tables --versus A,B``): does a method
beat PacGAN, SN-GAN, VEEGAN, ... on this table's metric, with a test?

A matrix of one metric: a row per tested method, a column per reference row; each cell is the
difference of means (row - reference) with its interval and the p-value of the table's test
(Welch's t by default), Holm-adjusted over **every tested cell of the matrix** (one family: the
question "does any of these methods beat any of these references" is asked once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aegan.errors import ConfigError


@dataclass(frozen=True)
class Versus:
    """``references``: the reference rows (the matrix's columns); ``rows``: the tested rows
    (empty: every other row of the table); ``metric``: a column title or metric key (None: the
    table's primary column)."""

    references: tuple[str, ...]
    rows: tuple[str, ...] = ()
    metric: str | None = None

    @classmethod
    def parse(cls, references: str, rows: str | None = None, metric: str | None = None) -> "Versus":
        names = tuple(n.strip() for n in references.split(",") if n.strip())
        if not names:
            raise ConfigError(f"--versus {references!r}: name reference rows, e.g. --versus pacgan,sngan")
        tested = tuple(n.strip() for n in (rows or "").split(",") if n.strip())
        return cls(names, tested, metric)


def _column(columns: list[tuple], metric: str | None) -> tuple:
    from aegan.results.cells import mean_column

    chosen = mean_column(columns, metric)
    if chosen is None:
        raise ConfigError(f"--versus-metric {metric}: no such metric in this table; its columns: "
                          f"{', '.join(f'{c[0]} ({c[1]})' for c in columns if not c[3:])}")
    return chosen


def versus_comparison(table: Any, columns: list[tuple], versus: Versus, test: str = "welch",
                      interval: str = "t") -> dict[str, Any]:
    """The matrix of ``versus`` on ``table`` (``tables.Table``): ``{"title", "head", "rows",
    "notes"}``, rows as ``{"label", "seeds", "cells"}`` with ``tables.difference_cell`` cells."""
    from aegan.results.cells import difference_cell
    from aegan.results.stats import ALPHA, difference, holm

    seeds = table.rows()
    missing = [n for n in (*versus.references, *versus.rows) if n not in seeds]
    if missing:
        raise ConfigError(f"--versus: {', '.join(missing)} not a row of {table.benchmark} "
                          f"(rows: {', '.join(seeds)})")
    column = _column(columns, versus.metric)
    tested = list(versus.rows) or [label for label in seeds if label not in versus.references]
    values = {label: [r["metrics"].get(column[1]) for r in recs] for label, recs in seeds.items()}
    diffs = [[difference(values[label], values[ref], test, interval) for ref in versus.references]
             for label in tested]
    flat = holm([d.p for row in diffs for d in row])
    width = len(versus.references)
    rows = [{"label": label, "seeds": len(seeds[label]),
             "cells": [difference_cell(d, flat[i * width + j], column) for j, d in enumerate(row)]}
            for i, (label, row) in enumerate(zip(tested, diffs))]
    head = [f"{ref} ({len(seeds[ref])} seeds)" for ref in versus.references]
    m = sum(p is not None for p in flat)
    name = {"welch": "two-sided Welch t-test", "mannwhitney": "two-sided Mann-Whitney U test"}[test]
    notes = [f"{column[0]}: each cell is the row's mean minus the column's [95 % interval of that difference], then "
             f"the p-value of a {name}, Holm-adjusted over all {m} tested cells of this matrix; better / worse: "
             f"significant at {ALPHA}; n.s.: not significant at these seeds."]
    return {"title": f"{table.benchmark}: {column[0]}, rows against {', '.join(versus.references)}",
            "head": head, "rows": rows, "notes": notes}


def versus_markdown(comparison: dict[str, Any]) -> list[str]:
    """``versus_comparison`` as markdown lines (a significant difference's word in bold)."""
    from aegan.results.cells import comparison_markdown

    return comparison_markdown(comparison)
