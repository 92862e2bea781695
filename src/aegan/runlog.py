"""Scalar logging that does not synchronise every step, and the divergence check.

Every step's scalars (each phase's loss terms, each updated net's gradient norm and the
method's diagnostics) are kept as one stacked tensor on the training device; ``flush``
moves the buffer to the host in one transfer, checks it for non-finite values, and writes
one JSON line per step plus TensorBoard events (for every ``tensorboard_every``-th step).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from aegan.checkpoint import atomic_write_text, json_text, storage_error


class DivergenceError(RuntimeError):
    """A non-finite loss, gradient norm or diagnostic; the message names phase and term."""


def _describe(name: str) -> str:
    kind, _, rest = name.partition("/")
    phase, _, term = rest.partition("/")
    labels = {"loss": ("phase", "term"), "grad": ("phase", "gradient norm of net")}
    if kind in labels and term:
        a, b = labels[kind]
        return f"{a} {phase!r}, {b} {term!r}"
    return f"diagnostic {rest or name!r}"


class ScalarLog:
    def __init__(self, run_dir: Path, tensorboard: bool, start_step: int = 0, tensorboard_every: int = 1):
        self.path = Path(run_dir) / "log.jsonl"
        self._truncate_after(start_step)
        self._pending: list[tuple[int, tuple[str, ...], torch.Tensor]] = []
        self.latest: dict[str, float] = {}
        self.tensorboard_every = tensorboard_every
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=start_step or None)

    def _truncate_after(self, step: int) -> None:
        truncate_after(self.path, step)

    def add(self, step: int, names: tuple[str, ...], values: list[torch.Tensor]) -> None:
        """Buffer one step's scalars (0-d tensors); nothing is moved to the host here."""
        with torch.no_grad():
            self._pending.append((step, names, torch.stack(values).float()))

    def flush(self) -> list[tuple[int, dict[str, float]]]:
        """Write the buffer and return its rows; raise ``DivergenceError`` at the first non-finite value."""
        if not self._pending:
            return []
        pending, self._pending = self._pending, []
        host = torch.stack([v for _, _, v in pending]).cpu().tolist() if _same_width(pending) else [
            v.cpu().tolist() for _, _, v in pending
        ]
        lines, written = [], []
        try:
            for (step, names, _), values in zip(pending, host):
                for name, value in zip(names, values):
                    if not math.isfinite(value):
                        raise DivergenceError(f"non-finite value at step {step}: {_describe(name)} = {value}")
                row = dict(zip(names, values))
                lines.append(json_text({"step": step, **row}))
                if self.writer is not None and step % self.tensorboard_every == 0:
                    for name, value in row.items():
                        self.writer.add_scalar(name, value, step)
                self.latest = row
                written.append((step, row))
        finally:
            try:
                with open(self.path, "a") as f:
                    f.write("".join(line + "\n" for line in lines))
            except OSError as err:
                raise storage_error(self.path, err) from err
            if self.writer is not None:
                self.writer.flush()
        return written

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def truncate_after(path: Path, step: int) -> None:
    """On resume, drop the lines of a JSON-lines log that an interrupted run wrote past its last
    checkpoint, and a partial last line (a kill or a full disk in the middle of an append)."""
    if not path.exists():
        return
    keep = [line for line in path.read_text(errors="replace").splitlines() if _step_of(line) <= step]
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def append_line(path: Path, row: dict) -> None:
    """Append one JSON line (a storage fault is named as such)."""
    try:
        with open(path, "a") as f:
            f.write(json_text(row) + "\n")  # NaN, inf: null
    except OSError as err:
        raise storage_error(path, err) from err


def _step_of(line: str) -> float:
    """A log line's step; infinity for a line that is not a whole JSON record."""
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf


def _same_width(pending) -> bool:
    return len({v.shape[0] for _, _, v in pending}) == 1


class NullLog:
    """The log of a rank other than 0: keeps nothing."""

    latest: dict[str, float] = {}

    def add(self, step: int, names: tuple[str, ...], values: list[torch.Tensor]) -> None:
        pass

    def flush(self) -> list:
        return []

    def close(self) -> None:
        pass
