"""The runs the fault battery starts from: its tiny config (``TINY``, ``tiny``), the uninterrupted
reference runs a trial is compared with, made once per battery (``Session``), and the comparison
of two runs' checkpoints and metrics (``same_as``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import yaml

from aegan.checkpoint import CheckpointError, load_checkpoint

from .config_cases import BASE
from .processes import Cli, run_cli, wait_until

# the fuzz set's 2-step base config, long enough for kills to land in training
TINY: dict[str, Any] = {
    **BASE,
    "train": {**BASE["train"], "steps": 400, "log_every": 10, "checkpoint_every": 20, "snapshots": 2},
    "eval": {**BASE["eval"], "n_samples": 200},
}
# checkpoint entries not compared: the wall time, and Python's `random` state (aegan never seeds it and
# training never draws from it, so it differs between any two runs of one config)
VOLATILE = {"/train_seconds": "wall time", "/rng/python": "Python's random state, never seeded by aegan"}
CKPT = Path("checkpoints") / "last.pt"


def tiny(**dotted: Any) -> dict[str, Any]:
    """TINY with ``section__key=value`` changes."""
    cfg = json.loads(json.dumps(TINY))
    for key, value in dotted.items():
        section, leaf = key.split("__")
        cfg[section][leaf] = value
    return cfg


def tree_diff(a: Any, b: Any, path: str = "") -> str | None:
    """Where two checkpoints differ (tensors by ``torch.equal``, floats with nan == nan); None if nowhere."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and torch.equal(a, b))
        return None if same else path or "/"
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(map(str, set(a) ^ set(b)))}"
        return next((d for k in a if f"{path}/{k}" not in VOLATILE and (d := tree_diff(a[k], b[k], f"{path}/{k}"))),
                    None)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} != {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := tree_diff(x, y, f"{path}/{i}"))), None)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return None
    return None if a == b and type(a) is type(b) else f"{path}: {a!r} != {b!r}"


def same_as(run: Path, reference: Path) -> str | None:
    """How a finished run differs from the reference (final checkpoint, metrics.json metrics); None if not."""
    diff = tree_diff(load_checkpoint(run / CKPT), load_checkpoint(reference / CKPT))
    if diff:
        return f"final checkpoint differs at {diff}"
    mine, ref = (json.loads((r / "metrics.json").read_text())["metrics"] for r in (run, reference))
    diff = tree_diff(mine, ref)
    return f"metrics differ at {diff}" if diff else None


def checkpoint_step(run: Path) -> int:
    """The step of a run's last checkpoint (-1 when it has none that loads)."""
    try:
        return int(load_checkpoint(run / CKPT)["step"])
    except CheckpointError:
        return -1


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temp_files(run: Path) -> list[Path]:
    return list((run / "checkpoints").glob(".*tmp*")) if (run / "checkpoints").is_dir() else []


def write_config(cfg: dict[str, Any], folder: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run and its timing: start -> first checkpoint -> last step -> exit."""

    run: Path
    to_first: float
    training: float
    finishing: float


class Session:
    """Shared state of one battery: its temporary root, its reference runs (made once, in a background
    thread, so that they overlap the rows that need none) and its pool for independent trials."""

    def __init__(self, root: Path, jobs: int):
        self.root, self.jobs = root, jobs
        self._background = ThreadPoolExecutor(1)
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._background.shutdown(wait=True, cancel_futures=True)

    @contextlib.contextmanager
    def trial(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="trial-", dir=self.root) as folder:
            yield Path(folder)

    def trials(self, fn: Callable[[Path, Any], Any], items: list[Any], here: bool = False) -> list[Any]:
        """``fn(folder, item)`` for each item, each in its own trial directory, ``jobs`` at a time (one
        after another on this thread with ``here``: ``run_here`` needs the main thread); in order."""
        def one(item: Any) -> Any:
            with self.trial() as folder:
                return fn(folder, item)
        if here:
            return [one(item) for item in items]
        with ThreadPoolExecutor(self.jobs) as pool:
            return list(pool.map(one, items))

    def _cached(self, key: str, make: Callable[[], Any]) -> Future:
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._background.submit(make)
            return self._futures[key]

    def reference(self, cfg: dict[str, Any], wait: bool = True) -> Reference:
        """The uninterrupted run of ``cfg`` (``wait=False``: only start making it)."""
        future = self._cached(json.dumps(cfg, sort_keys=True), lambda: self._train_reference(cfg))
        return future.result() if wait else None

    def compare_reference(self, cfg: dict[str, Any], wait: bool = True) -> list[dict]:
        """An uninterrupted compare's results.json rows."""
        future = self._cached("compare " + json.dumps(cfg, sort_keys=True), lambda: self._compare_reference(cfg))
        return future.result() if wait else None

    def _train_reference(self, cfg: dict[str, Any]) -> Reference:
        folder = Path(tempfile.mkdtemp(prefix="reference-", dir=self.root))
        run, steps = folder / "run", cfg["train"]["steps"]
        started = time.monotonic()
        proc = Cli(["train", write_config(cfg, folder), "--run-dir", run, "--no-progress"], folder)
        wait_until((run / CKPT).exists, proc)
        first = time.monotonic()
        wait_until((run / "samples" / f"step_{steps:07d}.npy").exists, proc)
        trained = time.monotonic()
        done = proc.finish()
        if done.rc != 0:
            raise RuntimeError(f"the reference run failed (exit {done.rc}): {done.stderr[-500:]}")
        return Reference(run, first - started, trained - first, time.monotonic() - trained)

    def _compare_reference(self, cfg: dict[str, Any]) -> list[dict]:
        folder = Path(tempfile.mkdtemp(prefix="reference-", dir=self.root))
        done = run_cli(compare_args(write_config(cfg, folder), folder / "out"), folder)
        if done.rc != 0:
            raise RuntimeError(f"the reference compare failed (exit {done.rc}): {done.stderr[-500:]}")
        return json.loads((folder / "out" / "results.json").read_text())


def compare_args(config: Path, out: Path) -> list[Any]:
    return ["compare", config, "--methods", "nsgan,gan", "--seeds", "2", "--workers", "2", "--out", out,
            "--no-progress"]
