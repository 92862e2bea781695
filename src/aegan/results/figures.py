"""What the report's figures share: rows in groups of a figure's size, and a figure as a
PNG data URI (``aegan.results.report`` and ``aegan.results.budget`` both draw them)."""

from __future__ import annotations

import base64
import io
import math
import re
from typing import TYPE_CHECKING

import numpy as np

from aegan.plots import _pyplot

if TYPE_CHECKING:
    from aegan.results.tables import Table


def png_data_uri(data: bytes) -> str:
    """PNG bytes as a ``data:`` URI, for an HTML page that carries its own images."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_uri(fig) -> str:
    """The figure as a 90-dpi PNG data URI; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    _pyplot().close(fig)
    return png_data_uri(buffer.getvalue())


ROWS_PER_FIGURE = 8  # lines per curve figure: a large table gets several figures, not 30 lines in one


def row_groups(table: Table) -> list[dict[str, list]]:
    """The table's rows (label -> records) in groups of at most ``ROWS_PER_FIGURE``, in table order."""
    items = list(table.rows().items())
    return [dict(items[i:i + ROWS_PER_FIGURE]) for i in range(0, len(items), ROWS_PER_FIGURE)]


def band_figure(rows: dict[str, list], panels: list[tuple[str, str, bool, dict]], steps: bool = False) -> str | None:
    """Panels (title, x label, log y, {row: (x, mean, low, high)}) in one figure: a line per row
    (a step line with ``steps``: a best-so-far curve) and its band over seeds, one legend;
    None without panels."""
    if not panels:
        return None
    plt = _pyplot()
    cols = min(4, len(panels))
    n_rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(3.6 * cols, 2.9 * n_rows), squeeze=False)
    colours = {label: f"C{i % 10}" for i, label in enumerate(rows)}
    where = {"step": "post"} if steps else {}
    for ax, (title, xlabel, log, bands) in zip(axes.flat, panels):
        for label, (x, mean, low, high) in bands.items():
            (ax.step if steps else ax.plot)(x, mean, color=colours[label], lw=1.2, label=label,
                                            **({"where": "post"} if steps else {}))
            ax.fill_between(x, low, high, color=colours[label], alpha=0.2, lw=0, **where)
        if log and all(np.nanmin(b[2]) > 0 for b in bands.values() if np.isfinite(b[2]).any()):
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(re.sub(r" \(", "\n(", xlabel, count=1), fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    seen = {lab: h for ax in axes.flat for h, lab in zip(*ax.get_legend_handles_labels())}
    fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=min(8, len(seen)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07 if n_rows == 1 else 0.04, 1, 1))
    return figure_uri(fig)
