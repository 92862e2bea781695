"""Row 8 of the fault battery: configs whose training diverges exit 3 with one line naming the step,
record.json strict JSON saying so, and only finite checkpoints kept."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from aegan.checkpoint import CheckpointError, load_checkpoint

from .outcomes import Row, message_problem, tally
from .processes import run_here
from .runs import CKPT, Session, tiny, write_config


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
