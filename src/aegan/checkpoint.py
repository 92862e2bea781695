"""Checkpoints and result files that survive a crash, and loading that never runs code.

JSON files (records, metrics.json, results.json, the JSON-lines logs) are written through
``json_text``: strict JSON, with every non-finite number (NaN, inf, as a run that diverges
produces) written as ``null``, aegan's one convention for them; readers take ``null`` as a
missing value (``n/a`` in tables).

Every write goes to a temporary file in the same directory, is flushed and fsynced, then
renamed over the target (``os.replace`` is atomic), so a kill during a save leaves the
previous file intact. Loading uses ``torch.load(weights_only=True)``: tensors and plain
containers only, never arbitrary pickled objects.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import random
from pathlib import Path
from typing import Any, Callable, IO

import numpy as np
import torch

FORMAT = "aegan-checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, foreign or holds pickled objects."""


class StorageError(RuntimeError):
    """A file that could not be written (disk full, read-only file system, no permission)."""


def storage_error(path: str | Path, err: OSError) -> StorageError:
    """``StorageError`` naming the file the user knows (not a temporary name) and the reason."""
    return StorageError(f"could not write {path}: {err.strerror or err}")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through ``write(fileobj)`` so that readers see the old or the new file.

    A failed write (disk full, read-only) leaves the old file as it was, removes the
    temporary one and raises ``StorageError`` naming ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(tmp, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as err:
        raise storage_error(path, err) from err


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def finite_or_null(obj: Any) -> Any:
    """``obj`` (plain containers) with every non-finite float replaced by None (JSON ``null``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite_or_null(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_null(value) for value in obj]
    return obj


def json_text(obj: Any, **options: Any) -> str:
    """``json.dumps`` of ``obj`` as strict JSON, NaN and inf written as ``null`` (the module
    docstring): what every JSON file aegan writes goes through."""
    return json.dumps(finite_or_null(obj), allow_nan=False, **options)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json_text(obj, indent=2, sort_keys=True) + "\n")


def capture_rng() -> dict[str, Any]:
    """Every global RNG state as tensors and plain containers (safe to load)."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gauss": float(np_state[4])},
        "python": list(random.getstate()[1]),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gauss"]))
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Atomically save ``state`` (tensors and plain containers) with the format tag."""
    payload = {"format": FORMAT, **state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)  # serialise fully before touching the disk
    path = Path(path)
    atomic_write(path, lambda f: f.write(buffer.getbuffer()))
    for stale in path.parent.glob(f".{path.name}.tmp-*"):  # left by a save that was killed (one writer per run)
        stale.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by ``save_checkpoint``; never unpickles objects."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint here; train first or point at a run directory that has one")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = str(err).splitlines()[0] if str(err) else "disallowed object"
        raise CheckpointError(
            f"{path}: refused: it holds pickled objects, not only tensors and plain containers ({reason})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        reason = (str(err).strip().splitlines() or [f"{type(err).__name__}, {path.stat().st_size} bytes"])[0]
        raise CheckpointError(f"{path}: truncated or not a torch checkpoint ({reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an aegan checkpoint (expected format {FORMAT!r})")
    return state
