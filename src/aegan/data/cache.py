"""The decoded-image cache: natural-image datasets are decoded and resized once into a
uint8 ``.npy`` file that later runs memory-map, so that no epoch decodes a JPEG.

One cache entry per dataset *part* (a file set such as CIFAR-10's training batches or all of
CelebA): ``<name>_<digest>.x.npy`` (N, C, H, W) uint8, ``<name>_<digest>.y.npy`` (N,) int64
labels (-1: unlabelled) and ``<name>_<digest>.json``, the key itself and the shape, written
last, so an entry without its ``.json`` is never used. Each file is written to a temporary
name, fsynced and renamed (``aegan.checkpoint.atomic_write``): a crash or a concurrent
builder leaves the old entry or a complete new one.

The digest is the SHA-256 of the JSON of the key: ``FORMAT``, the dataset, the part, the
preprocessing (resolution, crop, resampling, channels, ...) and every source file's path,
size and modification time (``file_entries``), so that a changed file or a changed
preprocessing builds a new entry, and an unchanged one is memory-mapped as it is. An entry
that fails to load, or whose ``.json`` holds another key, is rebuilt.

Location: ``data.cache_dir``, else ``$AEGAN_CACHE/datasets``, else
``$XDG_CACHE_HOME/aegan/datasets`` (``~/.cache/aegan/datasets``). Old entries are never
deleted by a run; `aegan cache --prune-days N` removes the entries no run used for N days.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from aegan.cache_admin import touch, user_cache
from aegan.checkpoint import atomic_write, atomic_write_json, storage_error

FORMAT = 1


def cache_root(cache_dir: str | None = None) -> Path:
    """Where decoded datasets live (see the module docstring)."""
    return user_cache("datasets", cache_dir)


def file_entries(paths: Iterable[Path], root: Path) -> list[list[Any]]:
    """[relative path, size, mtime_ns] of each file: what a cache entry is keyed on."""
    out = []
    for path in paths:
        st = path.stat()
        out.append([path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
    return out


def digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Cached:
    x: np.ndarray  # (N, C, H, W) uint8, memory-mapped read-only
    y: np.ndarray  # (N,) int64, -1 where there is no label
    path: Path  # the .x.npy file
    built: bool  # True when this call decoded the data (False: read from the cache)


def entry_paths(root: Path, name: str, key: dict[str, Any]) -> tuple[Path, Path, Path]:
    stem = re.sub(r"[^A-Za-z0-9_.+-]+", "-", name).strip("-")[:60] + "_" + digest(key)
    return root / f"{stem}.x.npy", root / f"{stem}.y.npy", root / f"{stem}.json"


def _load(x_path: Path, y_path: Path, meta_path: Path, key: dict[str, Any]) -> Cached | None:
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        same_key = json.dumps(meta["key"], sort_keys=True) == json.dumps(json.loads(json.dumps(key, default=str)),
                                                                          sort_keys=True)
        x = np.load(x_path, mmap_mode="r", allow_pickle=False)
        y = np.load(y_path, allow_pickle=False)
        if (not same_key or x.dtype != np.uint8 or list(x.shape) != meta["shape"] or y.shape != (x.shape[0],)
                or y.dtype != np.int64):
            raise ValueError("key or shape differs")
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"aegan: dataset cache {x_path.name} unusable ({err}); rebuilding", file=sys.stderr)
        return None
    touch(meta_path)  # its last use, for `aegan cache --prune-days`
    return Cached(x, y, x_path, False)


def load_or_build(name: str, key: dict[str, Any], item_shape: tuple[int, int, int],
                  build: Callable[[], tuple[np.ndarray, Iterator[np.ndarray]]],
                  cache_dir: str | None = None, desc: str | None = None) -> Cached:
    """The cache entry of ``key``: memory-mapped if present, else built and written first.

    ``build()`` returns the labels (N,) and an iterator of uint8 image blocks (k, *item_shape)
    that together hold the N images in order; it is called only when the entry is absent."""
    root = cache_root(cache_dir)
    x_path, y_path, meta_path = entry_paths(root, name, key)
    cached = _load(x_path, y_path, meta_path, key)
    if cached is not None:
        return cached
    labels, blocks = build()
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    shape = (n, *item_shape)
    print(f"aegan: decoding {desc or name} once ({n:,} images, {int(np.prod(shape)) / 2**20:.1f} MiB uint8) "
          f"into {x_path}", file=sys.stderr)
    tmp = x_path.with_name(f".{x_path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        _write_images(tmp, shape, blocks, desc or name)
        os.replace(tmp, x_path)
    except FileNotFoundError as err:  # MissingDataset / CorruptDataset from the decoder (no storage fault)
        if err.filename is None:
            raise
        raise storage_error(x_path, err) from err
    except OSError as err:
        raise storage_error(x_path, err) from err
    finally:
        if tmp.exists():
            tmp.unlink()
    atomic_write(y_path, lambda f: np.save(f, labels, allow_pickle=False))
    atomic_write_json(meta_path, {"key": key, "shape": list(shape)})
    return Cached(np.load(x_path, mmap_mode="r"), np.load(y_path), x_path, True)


def _write_images(tmp: Path, shape: tuple[int, ...], blocks: Iterator[np.ndarray], desc: str) -> None:
    from tqdm.auto import tqdm

    from aegan.progress import disable as progress_disable

    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
    filled = 0
    with tqdm(total=shape[0], desc=f"decoding {desc}", unit="img", disable=progress_disable(), file=sys.stderr) as bar:
        for block in blocks:
            k = len(block)
            if filled + k > shape[0] or tuple(block.shape[1:]) != shape[1:]:
                raise RuntimeError(f"dataset cache: block of shape {block.shape} does not fit {shape} at {filled}")
            out[filled: filled + k] = block
            filled += k
            bar.update(k)
    if filled != shape[0]:
        raise RuntimeError(f"dataset cache: {filled} images decoded, {shape[0]} expected")
    out.flush()
    del out
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
