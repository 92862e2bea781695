"""Row 9 of the fault battery: a second process on a busy run directory is refused (exit 5), and the
lock dies with its holder."""

from __future__ import annotations

import random
import signal
from collections import Counter

from aegan.checkpoint import load_checkpoint

from .outcomes import Row, checks_row, error_lines, message_problem
from .processes import Cli, run_cli, run_here, wait_until
from .runs import CKPT, Session, checkpoint_step, tiny, write_config


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
