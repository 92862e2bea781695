"""Row 4 of the fault battery: the invalid configs of ``config_cases`` through ``aegan.cli.main``."""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from pathlib import Path

from . import config_cases
from .outcomes import Row
from .runs import Session


def config_fuzz(session: Session, trials: int, rng: random.Random) -> Row:
    """Row 4: invalid configs through ``aegan.cli.main`` in-process (``config_cases``)."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-", dir=session.root))
    results, valid = config_cases.fuzz(folder)
    counts = config_cases.summary(results)
    order = ["clean", "traceback", "accepted silently", "wrong exit code", "not one line", "key not named", "hang"]
    outcomes = Counter({k: counts[k] for k in order if counts[k] or k == "clean"})
    outcomes.update({k: v for k, v in counts.items() if k not in outcomes})
    short = [f"{r.case.label}: **{r.outcome}**: {r.detail}" for r in results if r.outcome != "clean"]
    notes = [f"{len(valid)} generated configs are valid by the documented rules and were set aside: "
             + ", ".join(valid)]
    if uncovered := config_cases.uncovered_keys():
        notes.append("keys not fuzzed: " + ", ".join(uncovered))
    return Row("invalid configs (config fuzzing)", len(results), outcomes, not short, short, notes)
