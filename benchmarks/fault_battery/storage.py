"""Rows 5 and 6 of the fault battery (root on Linux): the disk fills up during training (a 3 MB
tmpfs), and a read-only run directory; both must be one "storage error" line, exit 4."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np

from aegan.checkpoint import load_checkpoint

from .outcomes import Row, checks_row, error_lines, message_problem, tally
from .processes import Cli, run_cli, run_here, wait_until
from .runs import CKPT, TINY, Reference, Session, same_as, sha256, temp_files, write_config

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
