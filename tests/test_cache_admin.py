"""`aegan cache`: entries grouped by stem, last use from the files' times (touched on use),
pruning by age, temporary files spared while young, clearing."""

from __future__ import annotations

import os
import time

import numpy as np

from aegan import cache_admin
from aegan.cli import main


def _entry(root, stem, days_ago, suffixes=(".x.npy", ".y.npy", ".json")):
    root.mkdir(parents=True, exist_ok=True)
    when = time.time() - days_ago * 86400
    for suffix in suffixes:
        path = root / f"{stem}{suffix}"
        path.write_bytes(b"x" * 100)
        os.utime(path, (when, when))


def test_prune_removes_what_no_run_used_and_spares_young_temporary_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AEGAN_CACHE", str(tmp_path))
    datasets, fid = tmp_path / "datasets", tmp_path / "fid_stats"
    _entry(datasets, "cifar10_aaaa", 40)
    _entry(datasets, "celeba_bbbb", 2)
    _entry(fid, "cifar10_train_n10000_cccc", 60, suffixes=(".npz",))
    _entry(datasets, ".cifar10_dddd.x.npy.tmp-77-ab", 0.1, suffixes=("",))  # a builder at work
    _entry(datasets, ".celeba_eeee.x.npy.tmp-78-cd", 3, suffixes=("",))  # left by a crash

    found = cache_admin.all_entries({k: tmp_path / k for k in cache_admin.KINDS})
    assert sorted((e.kind, e.stem, len(e.files)) for e in found if not e.temporary) == [
        ("datasets", "celeba_bbbb", 3), ("datasets", "cifar10_aaaa", 3), ("fid_stats", "cifar10_train_n10000_cccc", 1)]
    assert main(["cache", "--prune-days", "30"]) == 0
    out = capsys.readouterr().out
    assert "removing datasets/cifar10_aaaa (300 B)" in out and "fid_stats/cifar10_train_n10000_cccc" in out
    assert "freed 400 B in 2 entries" in out
    assert sorted(p.name for p in datasets.iterdir()) == [".celeba_eeee.x.npy.tmp-78-cd", ".cifar10_dddd.x.npy.tmp-77-ab",
                                                           "celeba_bbbb.json", "celeba_bbbb.x.npy", "celeba_bbbb.y.npy"]
    assert main(["cache", "--prune-days", "1"]) == 0  # the crash's file is past its grace period, the builder's not
    assert sorted(p.name for p in datasets.iterdir()) == [".cifar10_dddd.x.npy.tmp-77-ab"]
    assert main(["cache", "--clear"]) == 0 and main(["cache"]) == 0
    assert "datasets: " in capsys.readouterr().out and len(list(datasets.iterdir())) == 1  # only the young temp file


def test_a_run_reading_a_cache_entry_marks_it_used(tmp_path, monkeypatch):
    from aegan.data.cache import entry_paths, load_or_build

    monkeypatch.setenv("AEGAN_CACHE", str(tmp_path))
    key = {"what": "tiny"}
    build = lambda: (np.zeros(2, np.int64), iter([np.zeros((2, 1, 2, 2), np.uint8)]))  # noqa: E731
    load_or_build("tiny", key, (1, 2, 2), build)
    meta = entry_paths(tmp_path / "datasets", "tiny", key)[2]
    old = time.time() - 90 * 86400
    os.utime(meta, (old, old))
    assert not load_or_build("tiny", key, (1, 2, 2), build).built
    assert meta.stat().st_mtime > time.time() - 60
