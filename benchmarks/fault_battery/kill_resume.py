"""Rows 1 and 2 of the fault battery: ``aegan train`` killed (-9) at random moments, during training
or during checkpoint saves, then resumed bit-identical to an uninterrupted run."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from aegan.checkpoint import CheckpointError, load_checkpoint

from .outcomes import Row, error_lines, tally
from .processes import Cli, kill9_after, run_cli, wait_until
from .runs import CKPT, TINY, VOLATILE, Reference, Session, same_as, temp_files, tiny, write_config

KILL_SAVE = tiny(train__steps=100, train__checkpoint_every=1)  # row 2: a save every step


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
