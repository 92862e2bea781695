"""Results: run records, their tables and tests, the report, and the cost figures.

A layer below ``aegan.compare`` and ``aegan.cli``, which import it, never the reverse
(the import-linter contracts in ``pyproject.toml``).
"""
