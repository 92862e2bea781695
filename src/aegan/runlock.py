"""One process at a time per run directory.

A process that trains or evaluates in a run directory holds an exclusive ``flock`` on
``RUN_DIR/.lock`` for as long as it works there. The kernel drops the lock when the process
ends, however it ends (kill -9 included), so a stale lock cannot outlive its holder and a
rerun never races a still-running (orphaned) process on the same files: it is refused.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from aegan.checkpoint import storage_error

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not guarded there
    fcntl = None

_HELD: dict[str, int] = {}  # resolved path -> depth: re-entrant within a process


class RunBusy(RuntimeError):
    """Another process holds the run directory's lock."""


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock (creating the directory); raise ``RunBusy`` when another process
    has it, ``StorageError`` when the directory cannot be written."""
    root = Path(run_dir)
    key = str(root.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise storage_error(root / ".lock", err) from err
    try:
        _acquire(fd, root)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _acquire(fd: int, root: Path) -> None:
    """Take the lock without waiting and write this process's pid into the lock file."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunBusy(f"{root} is in use by another process (pid {holder}); wait for it to end or stop it, "
                          "then run again") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the pid is only a hint for the message above
