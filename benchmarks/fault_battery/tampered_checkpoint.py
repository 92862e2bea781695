"""Row 7 of the fault battery: a tampered ``last.pt`` (truncated, random, a pickle payload, wrong
shapes, NaN weights, ...) under ``train --resume`` and ``sample`` is one "checkpoint error" line,
exit 2, and never runs code."""

from __future__ import annotations

import math
import os
import random
import shutil
from pathlib import Path
from typing import Any, Callable

import torch

from .outcomes import Row, message_problem, tally
from .processes import run_here
from .runs import CKPT, TINY, Session


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
