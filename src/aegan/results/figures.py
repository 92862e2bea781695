"""What the report's figures share: rows in groups of a figure's size, and a figure as a
PNG data URI (``aegan.results.report`` and ``aegan.results.budget`` both draw them)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

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
