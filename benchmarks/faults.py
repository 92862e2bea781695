"""The fault battery: reproduce classes of faults against the `aegan` CLI and tabulate the outcomes.

    python benchmarks/faults.py --quick                       # a few trials per class (< 3 minutes on 2 cores)
    python benchmarks/faults.py                               # 24 trials of each random-kill class
    python benchmarks/faults.py --trials 50 --seed 1 --out results/faults.md
    python benchmarks/faults.py --quick --only kill_train,config_fuzz   # names or row numbers (1-9)

Prints a markdown table (| fault | trials | outcome | as wanted? |) with the machine and the
date on top and the cases that fell short below it; ``--out FILE.md`` also writes it
(atomically). Exit status 0 when every row is as wanted (a skipped row counts as such), else 1.
Every trial works in its own temporary directory, removed afterwards; random choices (kill
delays, tampered bytes) are drawn from ``--seed``, so a rerun makes the same choices (where a
kill lands still depends on the machine's speed). Rows:

1. kill_train: ``aegan train`` of a tiny nsgan/ring8 config is sent SIGKILL at a random moment
   after its first checkpoint (3 in 4 kills during training, the rest in the figure/evaluation),
   then ``aegan train --resume DIR`` must finish with a final checkpoint bit-identical (every
   tensor, ``torch.equal``) to an uninterrupted run of the same config, and equal metrics.
2. kill_save: the same with a checkpoint every step, so that kills land in saves; after each
   kill ``checkpoints/last.pt`` must load, and the resumed run must be bit-identical.
3. kill_compare: ``aegan compare`` (2 methods x 2 seeds, 2 workers) is sent SIGKILL a random
   0-2 s after a random number (0-3) of its 4 runs finished; within 5 s
   no process of it may be left (its workers, found in /proc as descendants before the kill, or
   any process whose command line holds the output directory); then the same compare reruns to
   completion and its results.json must equal an uninterrupted compare's (metrics per label and seed).
4. config_fuzz: hundreds of invalid configs (``fault_cases.py``) through ``aegan.cli.main``:
   each must exit 2 with one line on stderr that names the offending key or file.
5. disk_full (root): a run in a 3 MB tmpfs is stopped after a checkpoint, the tmpfs is filled,
   the run continued: exit 4, one line "aegan: storage error: could not write PATH: No space left
   on device", the previous checkpoint intact (its step), no temporary file left; after freeing
   space ``--resume`` completes, bit-identical to the uninterrupted run.
6. read_only (root): training into a read-only tmpfs (the directory itself, and a subdirectory to
   create) and resuming a finished run bind-mounted read-only with more steps: exit 4, one line
   naming a file; the checkpoint's bytes unchanged (sha256); ``aegan sample`` still reads the run.
7. tampered_checkpoint: last.pt truncated, random, a pickle payload that would run code, wrong
   shapes, NaN weights, a foreign torch file, an entry missing, empty, deleted; ``train --resume``
   (with more steps, so that training has work to do) and ``sample`` must exit 2 with one line
   "aegan: checkpoint error: ..." (NaN weights: a divergence, exit 3, is also acceptable) and
   never run the payload.
8. divergence: configs whose training blows up at step 2, and one at step 1 before any checkpoint
   (NaN sample snapshots taken before the divergence shows): exit 3, one line "aegan: training
   diverged: ..." naming the step, record.json strict JSON (NaN written as null) with status
   diverged; the last checkpoint loads and holds finite weights, or there is none.
9. run_lock: a second ``aegan train --resume DIR`` while a first trains in DIR (stopped with SIGSTOP
   meanwhile, so that it holds its lock without taking the CPU): exit 5, one line "aegan: run
   directory busy: ..."; the first trains on (continued, it writes a later checkpoint); after
   SIGKILL of the first, a resume succeeds (the lock died with its holder).

Processes: a run that is killed, stopped or must hold a lock against another process is a
subprocess (``python -m aegan.cli``), and so is every resume whose result is compared bit for bit
with a reference; the other commands (rows 4, 6, 7, 8 and row 9's last resume) call
``aegan.cli.main`` in this process, which saves an interpreter start and a torch import each: an
exception escaping main counts as a traceback. A one-line error is judged on stderr without the
CLI's "resuming DIR at step N" note. ``--jobs`` (default 2) runs independent trials of a row at once.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_cases  # noqa: E402

from aegan.checkpoint import CheckpointError, load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# the fuzz set's 2-step base config, long enough for kills to land in training
TINY: dict[str, Any] = {
    **fault_cases.BASE,
    "train": {**fault_cases.BASE["train"], "steps": 400, "log_every": 10, "checkpoint_every": 20, "snapshots": 2},
    "eval": {**fault_cases.BASE["eval"], "n_samples": 200},
}
# checkpoint entries not compared: the wall time, and Python's `random` state (aegan never seeds it and
# training never draws from it, so it differs between any two runs of one config)
VOLATILE = {"/train_seconds": "wall time", "/rng/python": "Python's random state, never seeded by aegan"}
CKPT = Path("checkpoints") / "last.pt"
RESUMING = re.compile(r"^resuming .* at step \d+$")  # the CLI's note before a resume


def tiny(**dotted: Any) -> dict[str, Any]:
    """TINY with ``section__key=value`` changes."""
    cfg = json.loads(json.dumps(TINY))
    for key, value in dotted.items():
        section, leaf = key.split("__")
        cfg[section][leaf] = value
    return cfg


KILL_SAVE = tiny(train__steps=100, train__checkpoint_every=1)  # row 2: a save every step
COMPARE = tiny(train__steps=200)  # row 3


@dataclass
class Row:
    """A line of the table: outcome label -> count, whether the row is as wanted, what fell short."""

    fault: str
    trials: int
    outcomes: Counter
    wanted: bool | None  # None: skipped
    shortfalls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def outcome_text(self) -> str:
        if self.wanted is None:
            return next(iter(self.outcomes))
        return "; ".join(f"{n}/{self.trials} {label}" for label, n in self.outcomes.items()) or "none"


# -- processes ---------------------------------------------------------------------------------------------------------
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
    rc, stderr, exc = fault_cases.run_in_process([str(a) for a in args])
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


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not RESUMING.match(line)]


def message_problem(rc: int | None, stderr: str, want_rc: int, prefix: str, names: tuple[str, ...] = ()) -> str | None:
    """None when the command exited ``want_rc`` with one line starting with ``prefix`` naming ``names``."""
    lines = error_lines(stderr)
    last = lines[-1][:240] if lines else "(nothing on stderr)"
    if "Traceback (most recent call last)" in stderr:
        return f"traceback: {last}"
    if rc is None:
        return "timed out"
    if rc != want_rc:
        return f"exit {rc} (wanted {want_rc}): {last}"
    if len(lines) != 1:
        return f"{len(lines)} lines on stderr: {' | '.join(lines)[:300]}"
    if not lines[0].startswith(prefix):
        return f"message does not start with {prefix!r}: {lines[0][:240]}"
    missing = [n for n in names if n not in lines[0]]
    return f"does not name {', '.join(missing)}: {lines[0][:240]}" if missing else None


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


# -- runs and checkpoints -----------------------------------------------------------------------------------------------
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


# -- mounts (root on Linux) ---------------------------------------------------------------------------------------------
_MOUNT_PROBLEM: list[str | None] = []


def mount_problem(session: Session) -> str | None:
    """Why this process cannot mount a tmpfs (None when it can); tried once."""
    if not _MOUNT_PROBLEM:
        if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
            _MOUNT_PROBLEM.append("skipped (needs root to mount a tmpfs)")
        else:
            try:
                with session.trial() as folder, mounted(folder / "probe", "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
                    pass
                _MOUNT_PROBLEM.append(None)
            except subprocess.CalledProcessError as err:
                _MOUNT_PROBLEM.append(f"skipped (mounting a tmpfs failed: {err.stderr.strip()[:120]})")
    return _MOUNT_PROBLEM[0]


@contextlib.contextmanager
def mounted(target: Path, *how: str, then: tuple[str, ...] = ()) -> Iterator[Path]:
    """``mount HOW TARGET`` (and ``mount THEN TARGET`` after it), unmounted on exit."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *how, str(target)], check=True, capture_output=True, text=True)
    try:
        if then:
            subprocess.run(["mount", *then, str(target)], check=True, capture_output=True, text=True)
        yield target
    finally:
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


def fill(path: Path) -> None:
    """Write ``path`` until the file system is full (chunks from 1 MiB down to 1 byte)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1):
            block = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, block)
    finally:
        os.close(fd)


# -- rows ---------------------------------------------------------------------------------------------------------------
def tally(fault: str, trials: list[tuple[list[str], str | None]], wanted: list[str], notes=(),
          numbered: bool = True) -> Row:
    """A row from per-trial (outcome labels, problem or None): as wanted when no trial has a problem and
    every trial has every ``wanted`` label (with ``wanted`` empty: some label)."""
    counts = Counter(label for labels, _ in trials for label in labels)
    ordered = Counter({label: counts[label] for label in wanted})
    ordered.update({k: v for k, v in counts.items() if k not in ordered})
    short = [f"trial {i + 1}: {problem}" if numbered else problem for i, (_, problem) in enumerate(trials) if problem]
    ok = not short and (all(ordered[label] == len(trials) for label in wanted) if wanted
                        else all(labels for labels, _ in trials))
    return Row(fault, len(trials), ordered, ok, short, list(notes))


def checks_row(fault: str, checks: list[tuple[list[str], str | None]]) -> Row:
    """A row of distinct checks (each (labels, problem)): "N/M checks passed", the checks named in a note."""
    passed = [labels[0] for labels, problem in checks if labels and not problem]
    short = [problem for _, problem in checks if problem]
    outcomes = Counter({"checks passed": len(passed), "checks failed": len(checks) - len(passed)})
    return Row(fault, len(checks), +outcomes, not short, short, ["passed: " + (", ".join(passed) or "none")])


def kill_phase(run: Path, steps: int, killed: bool) -> str:
    """Where a kill landed, judged from what the run left."""
    if not killed:
        return "run ended before the kill"
    if (run / "metrics.json").exists():
        return "killed after metrics.json"
    try:
        step = load_checkpoint(run / CKPT)["step"]
    except CheckpointError:
        return "killed (checkpoint unreadable)"
    return "killed in training" if step < steps else "killed in the figure/evaluation"


def kill_resume_trial(cfg: dict[str, Any], ref: Reference, folder: Path, delay: float,
                      saves: bool) -> tuple[list[str], str | None, str]:
    """Train, SIGKILL ``delay`` s after the first checkpoint, resume; (labels, problem, where the kill landed)."""
    run = folder / "run"
    proc = Cli(["train", write_config(cfg, folder), "--run-dir", run, "--no-progress"], folder)
    if not wait_until((run / CKPT).exists, proc):
        done = proc.finish()
        return [], f"no first checkpoint (exit {done.rc}: {done.stderr[-200:]})", "no checkpoint"
    where = kill_phase(run, cfg["train"]["steps"], kill9_after(proc, delay))
    labels: list[str] = []
    if saves:
        if temp_files(run):
            labels.append("killed mid-save (partial temporary file)")
        try:
            load_checkpoint(run / CKPT)
            labels.append("checkpoint loadable")
        except CheckpointError as err:
            return labels, f"checkpoint not loadable after the kill: {err}", where
    resume = run_cli(["train", "--resume", run, "--no-progress"], folder)
    if resume.rc != 0:
        return labels, f"resume exit {resume.rc}: {' | '.join(error_lines(resume.stderr))[-300:]}", where
    diff = same_as(run, ref.run)
    if diff is None:
        labels.append("resumed bit-identical")
    if saves and temp_files(run):
        labels.append("temporary file still there after the resume")
    return labels, diff, where


def kill_resume_row(fault: str, session: Session, cfg: dict[str, Any], trials: int, rng: random.Random,
                    saves: bool) -> Row:
    """Rows 1 and 2: ``trials`` kill-and-resume trials against one reference run."""
    ref = session.reference(cfg)
    delays = []
    for _ in range(trials):
        in_training = saves or rng.random() < 0.75
        delays.append(rng.uniform(0, ref.training) if in_training else ref.training + rng.uniform(0, ref.finishing))
    done = session.trials(lambda folder, delay: kill_resume_trial(cfg, ref, folder, delay, saves), delays)
    results = [(labels, problem and f"kill {delay:.2f} s after the first checkpoint: {problem}")
               for delay, (labels, problem, _) in zip(delays, done)]
    where = Counter(landed for _, _, landed in done)
    wanted = ["checkpoint loadable", "resumed bit-identical"] if saves else ["resumed bit-identical"]
    notes = ["kills landed: " + ", ".join(f"{n} {k}" for k, n in where.items()),
             "checkpoints compared in full except " + "; ".join(f"{k} ({why})" for k, why in VOLATILE.items())]
    return tally(fault, results, wanted, notes)


def kill_train(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 1: kill -9 at random moments of ``aegan train``, then resume."""
    return kill_resume_row("kill -9 during `aegan train`, then `--resume`", session, TINY, trials, rng, saves=False)


def kill_save(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 2: kill -9 with a checkpoint save every step."""
    return kill_resume_row("kill -9 during checkpoint saves (one per step)", session, KILL_SAVE, trials, rng,
                           saves=True)


def compare_args(config: Path, out: Path) -> list[Any]:
    return ["compare", config, "--methods", "nsgan,gan", "--seeds", "2", "--workers", "2", "--out", out,
            "--no-progress"]


def metrics_by_run(rows: list[dict]) -> dict[tuple[str, int], dict]:
    return {(r["label"], r["seed"]): r["metrics"] for r in rows}


def kill_compare_trial(cfg: dict[str, Any], reference: list[dict], folder: Path,
                       moment: tuple[int, float]) -> tuple[list[str], str | None]:
    """SIGKILL a compare ``moment[1]`` s after ``moment[0]`` of its runs finished (0: its workers
    started); orphans within 5 s; rerun against the reference."""
    out = folder / "out"
    args = compare_args(write_config(cfg, folder), out)
    proc = Cli(args, folder)
    finished, delay = moment
    wait_until(lambda: bool(descendants(proc.pid)) and len(list(out.glob("*/*/seed*/metrics.json"))) >= finished,
               proc, poll=0.05)
    seen: dict[int, int] = {}
    end = time.monotonic() + delay
    while time.monotonic() < end and proc.alive():
        seen.update(descendants(proc.pid))
        time.sleep(0.05)
    seen.update(descendants(proc.pid))
    labels = ["killed while workers ran" if proc.kill9() else "compare ended before the kill"]
    proc.finish()
    left = survivors(seen, str(out), within=5.0)
    problems = []
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if left:
        problems.append(f"{len(left)} process(es) alive 5 s after the kill: "
                        + "; ".join(f"{p}: {c[:80]}" for p, c in left.items()))
    else:
        labels.append("no orphan")
    rerun = run_cli(args, folder)
    if rerun.rc != 0:
        problems.append(f"rerun exit {rerun.rc}: {' | '.join(error_lines(rerun.stderr))[-300:]}")
        return labels, "; ".join(problems)
    rows = json.loads((out / "results.json").read_text())
    diff = tree_diff(metrics_by_run(rows), metrics_by_run(reference))
    if len(rows) == 4 and diff is None:
        labels.append("rerun equals the uninterrupted compare")
    else:
        problems.append(f"rerun has {len(rows)} rows; differs at {diff}")
    return labels, "; ".join(problems) or None


def kill_compare(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 3: kill -9 of ``aegan compare``; no orphans; the rerun completes the table."""
    cfg = COMPARE
    reference = session.compare_reference(cfg)
    moments = [(rng.randrange(4), rng.uniform(0, 2.0)) for _ in range(trials)]
    done = session.trials(lambda folder, moment: kill_compare_trial(cfg, reference, folder, moment), moments)
    results = [(labels, problem and f"kill {delay:.2f} s after {k} of 4 runs finished: {problem}")
               for (k, delay), (labels, problem) in zip(moments, done)]
    return tally("kill -9 of `aegan compare` (2 workers), then rerun", results,
                 ["no orphan", "rerun equals the uninterrupted compare"])


def config_fuzz(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 4: invalid configs through ``aegan.cli.main`` in-process (``fault_cases``)."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-", dir=session.root))
    results, valid = fault_cases.fuzz(folder)
    counts = fault_cases.summary(results)
    order = ["clean", "traceback", "accepted silently", "wrong exit code", "not one line", "key not named", "hang"]
    outcomes = Counter({k: counts[k] for k in order if counts[k] or k == "clean"})
    outcomes.update({k: v for k, v in counts.items() if k not in outcomes})
    short = [f"{r.case.label}: **{r.outcome}**: {r.detail}" for r in results if r.outcome != "clean"]
    notes = [f"{len(valid)} generated configs are valid by the documented rules and were set aside: "
             + ", ".join(valid)]
    if uncovered := fault_cases.uncovered_keys():
        notes.append("keys not fuzzed: " + ", ".join(uncovered))
    return Row("invalid configs (config fuzzing)", len(results), outcomes, not short, short, notes)


def disk_full_trial(ref: Reference, folder: Path, delay: float) -> tuple[list[str], str | None, str]:
    """Train into a 3 MB tmpfs; stop the run ``delay`` s after its first checkpoint, fill the tmpfs,
    continue it; then free the space and resume. (labels, problem, the error line)"""
    with mounted(folder / "mnt", "-t", "tmpfs", "-o", "size=3m", "tmpfs") as mnt:
        run, every = mnt / "run", TINY["train"]["checkpoint_every"]
        proc = Cli(["train", write_config(TINY, folder), "--run-dir", run, "--no-progress"], folder)
        if not wait_until((run / CKPT).exists, proc):
            return [], f"no first checkpoint: {proc.finish().stderr[-300:]}", ""
        wait_until(lambda: False, proc, timeout=delay)
        if not proc.alive():
            return ["run ended before the disk filled"], "the run ended before the tmpfs was filled", ""
        proc.popen.send_signal(signal.SIGSTOP)
        in_flight, before = bool(temp_files(run)), load_checkpoint(run / CKPT)["step"]
        fill(mnt / "filler")
        proc.popen.send_signal(signal.SIGCONT)
        done = proc.finish()
        labels, problems = [], []
        problem = message_problem(done.rc, done.stderr, 4, "aegan: storage error: could not write ",
                                  (str(run), "No space left on device"))
        labels += [] if problem else ["exit 4, one line naming the file"]
        problems += [problem] if problem else []
        after = load_checkpoint(run / CKPT)["step"]
        if after == before or (in_flight and after == before + every):
            labels.append("previous checkpoint intact")
        else:
            problems.append(f"last.pt holds step {after}, the last checkpoint before the fill was step {before}")
        if temp_files(run):
            problems.append(f"temporary files left: {[p.name for p in temp_files(run)]}")
        (mnt / "filler").unlink()
        resume = run_cli(["train", "--resume", run, "--no-progress"], folder)
        if resume.rc == 0 and (diff := same_as(run, ref.run)) is None:
            labels.append("resumed bit-identical after freeing space")
        else:
            problems.append(f"resume exit {resume.rc}: {' | '.join(error_lines(resume.stderr))[-200:]}"
                            if resume.rc != 0 else diff)
    return labels, "; ".join(problems) or None, " | ".join(error_lines(done.stderr))


def disk_full(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 5: the disk fills up during training."""
    fault = "disk full during training (3 MB tmpfs)"
    if skipped := mount_problem(session):
        return Row(fault, 0, Counter({skipped: 0}), None)
    ref = session.reference(TINY)
    delays = [rng.uniform(0, 0.5 * ref.training) for _ in range(trials)]
    done = session.trials(lambda folder, delay: disk_full_trial(ref, folder, delay), delays)
    results = [(labels, problem and f"filled {delay:.2f} s after the first checkpoint: {problem}")
               for delay, (labels, problem, _) in zip(delays, done)]
    return tally(fault, results, ["exit 4, one line naming the file", "previous checkpoint intact",
                                  "resumed bit-identical after freeing space"], [f"message: `{done[0][2]}`"])


def read_only_checks(session: Session, folder: Path, messages: list[str]) -> list[tuple[list[str], str | None]]:
    """Row 6's four checks: (labels, problem) each; the refusals' error lines go to ``messages``."""
    config, prefix = write_config(TINY, folder), "aegan: storage error: could not write "
    results = []
    with mounted(folder / "ro", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs") as ro:
        for target, label in ((ro, "fresh read-only run dir refused"), (ro / "sub", "subdir of a read-only dir refused")):
            done = run_here(["train", config, "--run-dir", target, "--no-progress"])
            problem = message_problem(done.rc, done.stderr, 4, prefix, (str(ro), "Read-only file system"))
            messages += error_lines(done.stderr)
            results.append(([] if problem else [label], problem and f"{label.split(' refused')[0]}: {problem}"))
    run = folder / "run"
    shutil.copytree(session.reference(TINY).run, run)
    digest = sha256(run / CKPT)
    with mounted(run, "--bind", str(run), then=("-o", "remount,ro,bind")):
        done = run_here(["train", "--resume", run, "--train.steps=440", "--no-progress"])
        problem = message_problem(done.rc, done.stderr, 4, prefix, (str(run), "Read-only file system"))
        messages += error_lines(done.stderr)
        if problem is None and (sha256(run / CKPT) != digest or load_checkpoint(run / CKPT)["step"] != 400):
            problem = "the checkpoint changed"
        results.append(([] if problem else ["resume of a read-only run refused, checkpoint unchanged"],
                        problem and f"resume with more steps: {problem}"))
        done = run_here(["sample", run, "--n", "10", "--out", folder / "x.npy"])
        ok = done.rc == 0 and (folder / "x.npy").exists() and np.load(folder / "x.npy").shape == (10, 2)
        results.append((["sample reads a read-only run"] if ok else [],
                        None if ok else f"sample exit {done.rc}: {' | '.join(error_lines(done.stderr))[-200:]}"))
    return results


def read_only(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 6: a read-only run directory."""
    fault = "read-only run directory"
    if skipped := mount_problem(session):
        return Row(fault, 0, Counter({skipped: 0}), None)
    messages: list[str] = []
    with session.trial() as folder:
        row = checks_row(fault, read_only_checks(session, folder, messages))
    row.notes += [f"message: `{line}`" for line in messages]
    return row


class Payload:
    """Unpickling this runs ``touch MARKER`` (it must never happen)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _edit(good: Path, change: Callable[[dict, Path], Any]) -> Callable[[Path, Path, random.Random], None]:
    """A tamper that loads the good checkpoint, changes it and ``torch.save``s it."""
    def tamper(path: Path, marker: Path, rng: random.Random) -> None:
        state = torch.load(good, weights_only=True)
        change(state, marker)
        torch.save(state, path)
    return tamper


def _wrong_shape(state: dict, marker: Path) -> None:
    nets = state["nets"]["generator"]
    key = next(k for k, v in nets.items() if v.dim() == 2)
    nets[key] = torch.zeros(nets[key].shape[0] + 1, nets[key].shape[1])


def _nan_weights(state: dict, marker: Path) -> None:
    for net in state["nets"].values():
        for tensor in net.values():
            if tensor.is_floating_point():
                tensor.fill_(math.nan)


def tampers(good: Path) -> dict[str, Callable[[Path, Path, random.Random], None]]:
    """name -> tamper(path of last.pt, marker path, rng)."""
    data = good.read_bytes()
    return {
        "truncated to half": lambda p, m, r: p.write_bytes(data[: len(data) // 2]),
        "random bytes": lambda p, m, r: p.write_bytes(r.randbytes(len(data))),
        "pickle payload that runs code": _edit(good, lambda s, m: s.update(step=Payload(m))),
        "wrong weight shape": _edit(good, _wrong_shape),
        "NaN weights": _edit(good, _nan_weights),
        "foreign torch file": lambda p, m, r: torch.save({"a": 1}, p),
        "entry missing (optimizers)": _edit(good, lambda s, m: s.pop("optimizers")),
        "empty file": lambda p, m, r: p.write_bytes(b""),
        "deleted": lambda p, m, r: p.unlink(),
    }


def tampered_trial(name: str, tamper: Callable, good_run: Path, folder: Path,
                   rng: random.Random) -> list[tuple[list[str], str | None]]:
    """``train --resume`` and ``sample`` of one tampered copy of the good run (in-process)."""
    run, marker = folder / "run", folder / "MARKER"
    shutil.copytree(good_run, run)
    tamper(run / CKPT, marker, rng)
    commands = {"train --resume": ["train", "--resume", str(run), "--train.steps=440", "--no-progress"],
                "sample": ["sample", str(run), "--n", "10", "--out", str(folder / "x.npy")]}
    results = []
    for command, argv in commands.items():
        done = run_here(argv)
        label, problem = "clean checkpoint error", message_problem(done.rc, done.stderr, 2, "aegan: checkpoint error: ",
                                                                   (str(run / CKPT),))
        if problem and name == "NaN weights" and command == "train --resume":
            if message_problem(done.rc, done.stderr, 3, "aegan: training diverged: ") is None:
                label, problem = "diverged cleanly (exit 3)", None
        if marker.exists():
            problem = "the payload ran (marker file created)"
        results.append(([] if problem else [label], problem and f"{name}, {command}: {problem}"))
    return results


def tampered_checkpoint(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 7: tampered ``last.pt`` under ``train --resume`` and ``sample``."""
    good = session.reference(TINY).run
    results = []
    for name, tamper in tampers(good / CKPT).items():
        with session.trial() as folder:
            results += tampered_trial(name, tamper, good, folder, rng)
    row = tally("tampered checkpoints (resume and sample)", results, [], numbered=False)
    row.notes.append(f"{len(tampers(good / CKPT))} tampers x 2 commands, in-process through aegan.cli.main")
    return row


# Row 8's configs: name -> (config, whether a checkpoint is written before the divergence shows)
DIVERGENCE_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "nsgan, adam lr 1e4": (tiny(train__lr=1e4, train__checkpoint_every=1), True),
    "lsgan, sgd lr 10": (tiny(method__name="lsgan", train__lr=10, train__optimizer="sgd", train__checkpoint_every=1),
                         True),
    # NaN at step 1, seen at the first log flush (step 10), before any checkpoint, after snapshots of NaN
    # samples (steps 2, 4, ...): every file written on the way out (record.json, its samples preview) holds NaN
    "nsgan, adam lr 1e300, step 1 before any checkpoint": (
        tiny(train__lr=1e300, train__log_every=10, train__checkpoint_every=100, train__snapshots=200), False),
}
DIVERGENCE_WANTED = ["exit 3, one line naming the step", "record.json strict JSON, status diverged"]


def _strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, which strict JSON has not."""
    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def divergence_trial(folder: Path, case: tuple[dict[str, Any], bool]) -> tuple[list[str], str | None]:
    """Train a diverging config: exit 3 naming the step; record.json strict JSON saying so; the
    checkpoint kept loads with finite weights, or none when it diverged before the first."""
    cfg, checkpointed = case
    run = folder / "run"
    done = run_here(["train", write_config(cfg, folder), "--run-dir", run, "--no-progress"])
    labels, problems = [], []
    problem = message_problem(done.rc, done.stderr, 3, "aegan: training diverged: ")
    if problem is None and not re.search(r"step \d+", done.stderr):
        problem = f"the step is not named: {done.stderr.strip()}"
    labels += [] if problem else [DIVERGENCE_WANTED[0]]
    problems += [problem] if problem else []
    try:
        record = _strict_json((run / "record.json").read_text())
        if record.get("status") == "diverged" and record.get("exit_code") == 3:
            labels.append(DIVERGENCE_WANTED[1])
        else:
            problems.append(f"record.json says status {record.get('status')!r}, exit {record.get('exit_code')}")
    except (OSError, ValueError) as err:
        problems.append(f"record.json unreadable: {err}")
    if not checkpointed:
        if (run / CKPT).exists():
            problems.append("a checkpoint was written after the divergence")
        else:
            labels.append("no checkpoint (diverged before the first)")
        return labels, "; ".join(problems) or None
    try:
        state = load_checkpoint(run / CKPT)
        finite = all(t.isfinite().all() for net in state["nets"].values() for t in net.values() if t.is_floating_point())
        labels += ["last checkpoint loadable, its weights finite"] if finite else []
        problems += [] if finite else [f"the checkpoint kept (step {state['step']}) holds non-finite weights"]
    except CheckpointError as err:
        problems.append(f"no loadable checkpoint: {err}")
    return labels, "; ".join(problems) or None


def divergence(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 8: configs that diverge at step 2 (a checkpoint is saved every step), and at step 1
    before any checkpoint (``DIVERGENCE_CASES``)."""
    done = session.trials(divergence_trial, list(DIVERGENCE_CASES.values()), here=True)
    results = [(labels, problem and f"{name}: {problem}") for name, (labels, problem) in zip(DIVERGENCE_CASES, done)]
    return tally("divergence (lr far too high)", results, DIVERGENCE_WANTED)


def run_lock(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 9: a second process on a busy run directory; the lock dies with its holder."""
    cfg = tiny(train__steps=10**6, train__checkpoint_every=50, train__log_every=50, train__snapshots=1)
    results = []
    with session.trial() as folder:
        run = folder / "run"
        first = Cli(["train", write_config(cfg, folder), "--run-dir", run, "--no-progress"], folder)
        if not wait_until((run / CKPT).exists, first, timeout=120):
            first.kill9()
            return Row("run directory lock", 0, Counter(), False, [f"the first run made no checkpoint: "
                                                                   f"{first.finish().stderr[-300:]}"])
        first.popen.send_signal(signal.SIGSTOP)  # it keeps its lock and leaves the CPU to the second
        before = checkpoint_step(run)
        second = run_cli(["train", "--resume", run, "--no-progress"], folder, timeout=120)
        first.popen.send_signal(signal.SIGCONT)
        problem = message_problem(second.rc, second.stderr, 5, "aegan: run directory busy: ", (str(run),))
        results.append(([] if problem else ["second process refused (exit 5, one line)"],
                         problem and f"second `train --resume` while the first trains: {problem}"))
        went_on = wait_until(lambda: checkpoint_step(run) > before, first, timeout=120, poll=0.2)
        results.append((["first run undisturbed (trains on after the refusal)"] if went_on else [],
                        None if went_on else f"the first run made no further checkpoint: {first.finish().stderr[-300:]}"))
        first.kill9()
        first.finish()
        step = load_checkpoint(run / CKPT)["step"]
        resume = run_here(["train", "--resume", run, f"--train.steps={step + 20}", "--no-progress"])
        results.append((["resume after kill -9 of the holder succeeded"] if resume.rc == 0 else [],
                        None if resume.rc == 0 else
                        f"resume after the kill: exit {resume.rc}: {' | '.join(error_lines(resume.stderr))[-300:]}"))
    return checks_row("run directory lock", results)


CLASSES: dict[str, Callable[[Session, int, random.Random], Row]] = {
    "kill_train": kill_train, "kill_save": kill_save, "kill_compare": kill_compare, "config_fuzz": config_fuzz,
    "disk_full": disk_full, "read_only": read_only, "tampered_checkpoint": tampered_checkpoint,
    "divergence": divergence, "run_lock": run_lock,
}
SCALE = {"kill_compare": 4, "disk_full": 4}  # expensive random-kill classes run trials // SCALE
# rows that need no reference run go first, while the references are made in the background
RUN_ORDER = ("config_fuzz", "divergence", "run_lock", "tampered_checkpoint", "kill_train", "kill_save", "disk_full",
             "read_only", "kill_compare")


def prefetch(session: Session, names: list[str]) -> None:
    """Start making the reference runs the chosen rows need, in the order the rows need them."""
    for name in (n for n in RUN_ORDER if n in names):
        if name in ("tampered_checkpoint", "kill_train", "disk_full", "read_only"):
            session.reference(TINY, wait=False)
        elif name == "kill_save":
            session.reference(KILL_SAVE, wait=False)
        elif name == "kill_compare":
            session.compare_reference(COMPARE, wait=False)


# -- report -------------------------------------------------------------------------------------------------------------
def header(args: argparse.Namespace) -> list[str]:
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ["# aegan fault battery", "",
            f"- date: {now}",
            f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"torch {torch.__version__}, {'root' if hasattr(os, 'geteuid') and os.geteuid() == 0 else 'not root'}",
            f"- aegan: {commit}",
            f"- command: `python benchmarks/faults.py {' '.join(sys.argv[1:])}` (seed {args.seed}, "
            f"{args.trials} trials per random-kill class)", ""]


def render(rows: list[Row], args: argparse.Namespace, seconds: float) -> str:
    lines = header(args) + ["| fault | trials | outcome | as wanted? |", "|---|---|---|---|"]
    for row in rows:
        verdict = "skipped" if row.wanted is None else ("yes" if row.wanted else "**no**")
        lines.append(f"| {row.fault} | {row.trials} | {row.outcome_text()} | {verdict} |")
    lines += ["", f"wall time: {seconds:.0f} s", ""]
    if any(row.shortfalls for row in rows):
        lines += ["## Cases that fell short", ""]
        for row in (r for r in rows if r.shortfalls):
            lines += [f"### {row.fault}", "", *[f"- {s}" for s in row.shortfalls], ""]
    if any(row.notes for row in rows):
        lines += ["## Notes", ""] + [f"- {row.fault}: {note}" for row in rows for note in row.notes] + [""]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def parse_only(text: str | None) -> list[str]:
    names = list(CLASSES)
    if not text:
        return names
    chosen = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        if item.isdigit() and 1 <= int(item) <= len(names):
            chosen.append(names[int(item) - 1])
        elif item in CLASSES:
            chosen.append(item)
        else:
            raise argparse.ArgumentTypeError(f"unknown class {item!r}; classes: {', '.join(names)} or 1-9")
    return [n for n in names if n in chosen]


def run_row(name: str, session: Session, trials: int, seed: int) -> Row:
    """One row; a row that breaks is reported as such and the others still run."""
    try:
        return CLASSES[name](session, trials, random.Random(f"{seed}:{name}"))
    except Exception as err:  # noqa: BLE001
        traceback.print_exc()
        return Row(name, 0, Counter({"benchmark error": 1}), False, [f"{type(err).__name__}: {err}"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 trials per random-kill class (< 3 minutes)")
    p.add_argument("--trials", type=int, help="trials per random-kill class (default 24, 2 with --quick)")
    p.add_argument("--only", type=parse_only, default=list(CLASSES), help="CLASS[,CLASS]: names or numbers 1-9")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="also write the table to this markdown file (atomically)")
    p.add_argument("--jobs", type=int, default=2, help="independent trials of a row run at once (default 2)")
    args = p.parse_args(argv)
    args.trials = args.trials or (2 if args.quick else 24)
    started = time.monotonic()
    rows: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix="aegan-faults-") as root:
        session = Session(Path(root), max(1, args.jobs))
        try:
            prefetch(session, args.only)
            for name in (n for n in RUN_ORDER if n in args.only):
                print(f"[{time.monotonic() - started:5.0f} s] {name}", file=sys.stderr, flush=True)
                rows[name] = run_row(name, session, max(1, args.trials // SCALE.get(name, 1)), args.seed)
        finally:
            session.close()
    text = render([rows[n] for n in CLASSES if n in rows], args, time.monotonic() - started)
    print(text)
    if args.out:
        write_atomically(args.out, text)
    return 0 if all(row.wanted is not False for row in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
