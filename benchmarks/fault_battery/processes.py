"""Running the CLI for the fault battery: a ``python -m aegan.cli`` subprocess that can be killed or
stopped (``Cli``), ``aegan.cli.main`` in this process (``run_here``), and the processes a command
leaves behind, found in /proc (``descendants``, ``survivors``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .config_cases import run_in_process


@dataclass
class Done:
    rc: int | None  # None: killed after its timeout
    stdout: str
    stderr: str


class Cli:
    """A running ``python -m aegan.cli ARGS`` in ``cwd``, its output kept in temporary files."""

    def __init__(self, args: list[Any], cwd: Path):
        self.out, self.err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        self.popen = subprocess.Popen([sys.executable, "-m", "aegan.cli", *map(str, args)], cwd=cwd,
                                      stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid
        self.done: Done | None = None

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> bool:
        """SIGKILL; whether the process was still running."""
        if not self.alive():
            return False
        self.popen.send_signal(signal.SIGKILL)
        return True

    def finish(self, timeout: float = 600) -> Done:
        """Wait for the end (SIGKILL after ``timeout``); the exit code and output (the same on later calls)."""
        if self.done is not None:
            return self.done
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            rc = None
        texts = []
        for f in (self.out, self.err):
            f.seek(0)
            texts.append(f.read())
            f.close()
        self.done = Done(rc, *texts)
        return self.done


def run_cli(args: list[Any], cwd: Path, timeout: float = 600) -> Done:
    return Cli(args, cwd).finish(timeout)


def run_here(args: list[Any]) -> Done:
    """``aegan.cli.main(args)`` in this process (faster than ``run_cli``: no interpreter start, no
    torch import); an exception escaping main is written to stderr as a traceback would be."""
    rc, stderr, exc = run_in_process([str(a) for a in args])
    return Done(rc, "", stderr + (f"\nTraceback (most recent call last):\n{exc}\n" if exc else ""))


def wait_until(condition: Callable[[], bool], proc: Cli | None = None, timeout: float = 300, poll: float = 0.01) -> bool:
    """Poll ``condition`` until true, ``timeout`` or the end of ``proc``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        if proc is not None and not proc.alive():
            return condition()
        time.sleep(poll)
    return False


def kill9_after(proc: Cli, delay: float) -> bool:
    """SIGKILL ``proc`` after ``delay`` seconds; whether it was still running then."""
    wait_until(lambda: False, proc, timeout=delay)
    killed = proc.kill9()
    proc.finish()
    return killed


# -- /proc --------------------------------------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process, or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0], int(fields[19])


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def descendants(pid: int) -> dict[int, int]:
    """pid -> start time of every living descendant of ``pid``."""
    children: dict[int, list[int]] = {}
    starts = {}
    for p in _pids():
        stat = _stat(p)
        if stat is not None:
            children.setdefault(stat[0], []).append(p)
            starts[p] = stat[2]
    found, todo = {}, list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found[p] = starts[p]
        todo += children.get(p, [])
    return found


def _living(pid: int, start: int | None = None) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[1] not in "ZX" and (start is None or stat[2] == start)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def survivors(known: dict[int, int], marker: str, within: float) -> dict[int, str]:
    """Processes still alive after ``within`` seconds: of ``known`` (pid -> start time), or with
    ``marker`` in their command line; pid -> command line."""
    end = time.monotonic() + within
    while True:
        left = {p: _cmdline(p) for p, start in known.items() if _living(p, start)}
        left.update({p: cmd for p in _pids() if p != os.getpid() and marker in (cmd := _cmdline(p)) and _living(p)})
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)
