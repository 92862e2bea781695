"""Metric tests: FID statistics go to a per-test cache directory, never ~/.cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_fid_cache(tmp_path, monkeypatch):
    from aegan.metrics.fid_stats import clear_memory

    monkeypatch.setenv("AEGAN_CACHE", str(tmp_path / "aegan_cache"))
    clear_memory()
    yield
    clear_memory()
