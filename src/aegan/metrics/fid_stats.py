"""Reference Inception statistics of a dataset split, computed once and cached on disk.

The reference set is ``n`` images of the split drawn with the evaluation's real-data seed
(``eval.seed + 1``; blocks of 10,000 images, the first block exactly what
``dataset.sample(n, seed, split)`` gives). Its features (float32, all n: KID and PRDC use
them), their mean and covariance (float64) go to one ``.npz`` file (read back with
``allow_pickle=False``), written atomically (temporary file, fsync, rename).

The key is the JSON of: the dataset's description (``describe()``: name, data config such
as split, classes, resolution, crop, root; without ``download``), the reference split, n,
the seed, the feature network's SHA-256 and ``FORMAT`` (bumped when the preprocessing or
the layout changes). The file name is ``<dataset>_<split>_n<n>_<sha256(key)[:16]>.npz`` and
the file holds the key itself, checked on load; a file that fails to load or whose key
differs is recomputed. Location: ``eval.params.<metric>.cache_dir``, else
``$AEGAN_CACHE/fid_stats``, else ``$XDG_CACHE_HOME/aegan/fid_stats`` (``~/.cache``).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor

from aegan.checkpoint import atomic_write
from aegan.cache_admin import touch, user_cache
from aegan.metrics.inception import FeatureStats, feature_weights, load_feature_net, stream_stats

FORMAT = 1
REAL_BLOCK = 10_000  # images drawn per dataset.sample call


def cache_root(cache_dir: str | None = None) -> Path:
    """Where reference statistics live (see the module docstring)."""
    return user_cache("fid_stats", cache_dir)


def reference_split(dataset, split: str | None) -> str:
    """``split``, or the dataset's training split."""
    return split or getattr(getattr(dataset, "config", None), "split", None) or "train"


def reference_key(dataset, split: str, n: int, seed: int, weights_sha256: str) -> dict[str, Any]:
    description = {k: v for k, v in dataset.describe().items() if k != "download"}
    return {"format": FORMAT, "dataset": description, "split": split, "n": n, "seed": seed,
            "weights_sha256": weights_sha256}


def key_path(root: Path, key: dict[str, Any]) -> Path:
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(key["dataset"].get("protocol") or "dataset")).strip("-")[:40]
    split = re.sub(r"[^A-Za-z0-9_.+-]+", "-", key["split"])
    return root / f"{name}_{split}_n{key['n']}_{digest}.npz"


def block_seed(seed: int, block: int) -> int:
    """The seed of block ``block`` (block 0: ``seed`` itself)."""
    if block == 0:
        return seed
    return int.from_bytes(hashlib.sha256(f"{seed}/{block}".encode()).digest()[:8], "little") >> 1


def real_blocks(dataset, n: int, seed: int, split: str) -> Iterator[Tensor]:
    """n real images of ``split`` in blocks of at most ``REAL_BLOCK``."""
    for block, start in enumerate(range(0, n, REAL_BLOCK)):
        yield dataset.sample(min(REAL_BLOCK, n - start), block_seed(seed, block), split).x


def save_stats(path: Path, stats: FeatureStats, key: dict[str, Any]) -> None:
    def write(f):
        np.savez(f, key=np.array(json.dumps(key, sort_keys=True, default=str)),
                 mu=stats.mu.numpy(), sigma=stats.sigma.numpy(), features=stats.features.numpy())

    atomic_write(path, write)


def load_stats(path: Path, key: dict[str, Any]) -> FeatureStats | None:
    """The statistics in ``path`` if it exists, loads without pickle and holds ``key``; else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            stored = json.loads(str(z["key"]))
            mu, sigma, feats = z["mu"], z["sigma"], z["features"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, io.UnsupportedOperation) as err:
        print(f"aegan: {path}: unreadable FID statistics ({err}); recomputing", file=sys.stderr)
        return None
    if stored != json.loads(json.dumps(key, sort_keys=True, default=str)):
        return None
    d = len(mu)
    if mu.shape != (d,) or sigma.shape != (d, d) or feats.shape != (key["n"], d):
        print(f"aegan: {path}: FID statistics of the wrong shape; recomputing", file=sys.stderr)
        return None
    touch(path)  # its last use, for `aegan cache --prune-days`
    return FeatureStats(torch.from_numpy(feats.astype(np.float32)), torch.from_numpy(mu.astype(np.float64)),
                        torch.from_numpy(sigma.astype(np.float64)))


_LOADED: dict[tuple, FeatureStats] = {}  # one set kept per process: n x 2048 floats
_CAPPED: set[tuple] = set()  # the reference sets already capped (and said so) in this process


def reference_size(dataset, split: str | None, n: int) -> int:
    """``n`` capped at the number of images ``split`` holds, with a one-line warning naming both
    (once per process). The reference images are drawn with replacement, so a larger set only
    repeats images, at the cost of their Inception features all the same (a full-scale config's
    n_real of 50,000 on a folder of 300 images: hours on a CPU). Capped rather than refused: the
    whole split is what such a config asks for, and the metrics record the n used (``n_real``)."""
    split = reference_split(dataset, split)
    size = dataset.split_size(split) if hasattr(dataset, "split_size") else None
    if size is None or n <= size:
        return n
    key = (dataset.protocol, split, n, size)
    if key not in _CAPPED:
        _CAPPED.add(key)
        print(f"aegan: warning: the FID/KID/PRDC reference statistics ask for {n:,} real images (n_real, else the "
              f"number of samples) but the {split} split of {dataset.protocol or 'the dataset'} holds {size:,}: "
              f"capped at {size:,}", file=sys.stderr)
    return size


def check_reference_sizes(cfg, dataset) -> None:
    """Before a run trains: the warning of ``reference_size`` for each reference set its
    evaluations (at the end, and during training with ``eval.every``) will read."""
    from aegan.metrics import METRICS

    for name in dict.fromkeys(cfg.eval.metrics):
        if name not in FEATURE_METRICS:
            continue
        p = METRICS[name].params(cfg.eval.params.get(name))
        counts = [cfg.eval.n_samples] + ([cfg.eval.every_n_samples or cfg.eval.n_samples] if cfg.eval.every else [])
        for n in dict.fromkeys(p.n_real or p.n_samples or count for count in counts):
            reference_size(dataset, p.real_split, n)


def reference_stats(dataset, split: str | None, n: int, seed: int, weights: str | None, batch_size: int,
                    device: str, cache_dir: str | None = None, cache: bool = True,
                    progress: bool | None = None) -> tuple[FeatureStats, str, Path | None, bool]:
    """Reference statistics of ``n`` images of ``split``: (stats, weights SHA-256, cache file or
    None, whether they were computed now). Read from the cache when it holds them."""
    _, digest = feature_weights(weights)  # the network itself is loaded only to compute
    n = reference_size(dataset, split, n)
    split = reference_split(dataset, split)
    key = reference_key(dataset, split, n, seed, digest)
    path = key_path(cache_root(cache_dir), key) if cache else None
    memo = (json.dumps(key, sort_keys=True, default=str), str(path))
    if memo in _LOADED:
        return _LOADED[memo], digest, path, False
    stats = load_stats(path, key) if path is not None else None
    computed = stats is None
    if computed:
        net, digest = load_feature_net(weights, device)
        stats = stream_stats(net, real_blocks(dataset, n, seed, split), n, batch_size, device, progress,
                             desc=f"reference features ({split}, n={n})")
        if path is not None:
            save_stats(path, stats, key)
    _LOADED.clear()
    _LOADED[memo] = stats
    return stats, digest, path, computed


def clear_memory() -> None:
    """Forget the statistics held in this process (the disk cache stays)."""
    _LOADED.clear()


FEATURE_METRICS = ("fid", "prdc")  # the metrics that read reference statistics


def precompute(cfg, progress: bool = True) -> list[str]:
    """``aegan fid-stats``: the reference statistics each of the config's Inception-feature
    metrics (``fid`` when it names none) will read, computed now unless cached; one line each."""
    from aegan.data import build_dataset
    from aegan.errors import ConfigError
    from aegan.metrics import METRICS
    from aegan.metrics.inception import default_device

    if cfg.data.params.data_kind != "images":
        raise ConfigError(f"data.name: FID statistics need image data; {cfg.data.name!r} is {cfg.data.params.data_kind}")
    names = [m for m in dict.fromkeys(cfg.eval.metrics) if m in FEATURE_METRICS] or ["fid"]
    dataset = build_dataset(cfg.data.name, cfg.data.params, cfg.train.seed, "cpu")
    run_device = None if cfg.train.device == "auto" else cfg.train.device
    lines = []
    for name in names:
        p = METRICS[name].params(cfg.eval.params.get(name))
        n = reference_size(dataset, p.real_split, p.n_real or p.n_samples or cfg.eval.n_samples)
        stats, digest, path, computed = reference_stats(dataset, p.real_split, n, cfg.eval.seed + 1, p.weights,
                                                        p.batch_size, default_device(p.device or run_device), p.cache_dir,
                                                        True, progress)
        lines.append(f"{name}: {path} ({'computed' if computed else 'cached'}: {cfg.data.name} "
                     f"{reference_split(dataset, p.real_split)} split, n={n}, {stats.features.shape[1]}-d features, "
                     f"weights sha256 {digest[:12]})")
    return lines
