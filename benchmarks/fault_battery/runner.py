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
4. config_fuzz: hundreds of invalid configs (``fault_battery/config_cases.py``) through ``aegan.cli.main``:
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
import datetime
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Callable

import torch

from .config_fuzz import config_fuzz
from .divergence import divergence
from .kill_compare import COMPARE, kill_compare
from .kill_resume import KILL_SAVE, kill_save, kill_train
from .outcomes import Row
from .run_lock import run_lock
from .runs import TINY, Session
from .storage import disk_full, read_only
from .tampered_checkpoint import tampered_checkpoint

ROOT = Path(__file__).resolve().parents[2]


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
