"""Row 3 of the fault battery: ``aegan compare`` killed (-9) with its workers running leaves no
orphan, and its rerun equals an uninterrupted compare."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

from .outcomes import Row, error_lines, tally
from .processes import Cli, descendants, run_cli, survivors, wait_until
from .runs import Session, compare_args, tiny, tree_diff, write_config

COMPARE = tiny(train__steps=200)  # row 3


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
