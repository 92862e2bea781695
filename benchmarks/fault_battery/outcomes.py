"""Classifying the fault battery's outcomes: a row of the table (``Row``), whether a command failed
with the wanted exit status and one error line (``message_problem``), and rows from per-trial
outcome labels (``tally``, ``checks_row``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

RESUMING = re.compile(r"^resuming .* at step \d+$")  # the CLI's note before a resume


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
