"""Live warnings while a run trains: the failure modes the seed papers study, caught as they happen.

* vanishing: the generator's GAN gradient (``grad/<phase>/term/adversarial`` when
  ``train.grad_per_term`` is on, else ``grad/generator/generator``) has fallen ``VANISH_FACTOR``
  times below its value at the start (medians over ``GRAD_WINDOW`` logged steps);
* pinned: D's mean output on generated samples (``diag/d_fake``) has stayed below
  ``PIN_LOW`` or above ``PIN_HIGH`` for ``PIN_STEPS`` steps in a row;
* collapse: on a Gaussian mixture, a snapshot holds fewer strict modes (a mode with at least
  10 % of its share of samples) than an earlier snapshot did.

Each warning is one log line naming the run (method, dataset, seed) and an entry of
``warnings`` in metrics.json. The monitor is a
function of the logged rows and the snapshots, so a resumed run replays them from
``log.jsonl`` and ``samples/`` and ends with the same list as an uninterrupted one.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from typing import Any, Callable

VANISH_FACTOR = 1000.0
GRAD_WINDOW = 20
PIN_LOW, PIN_HIGH, PIN_STEPS = 0.01, 0.99, 200


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class Monitor:
    """``run``: which run the printed lines come from ("nsgan on ring8, seed 0"), so that the
    lines of a comparison's parallel runs can be told apart; the warnings kept omit it."""

    def __init__(self, data, say: Callable[[str], None] = print, run: str = ""):
        self.data = data
        self.say = say
        self.run = run
        self.warnings: list[dict[str, Any]] = []
        self._start: list[float] = []
        self._recent: deque[float] = deque(maxlen=GRAD_WINDOW)
        self._pinned_since: int | None = None
        self._best_modes: tuple[float, int] | None = None
        self._lowest_warned_modes = float("inf")

    def _warn(self, kind: str, step: int, message: str, quiet: bool) -> None:
        self.warnings.append({"kind": kind, "step": step, "message": message})
        if not quiet:
            self.say(f"aegan: warning at step {step}{f' ({self.run})' if self.run else ''}: {message}")

    def _warned(self, kind: str) -> bool:
        return any(w["kind"] == kind for w in self.warnings)

    def observe(self, step: int, row: dict[str, float], quiet: bool = False) -> None:
        """One logged step's scalars."""
        self._check_gradient(step, row, quiet)
        self._check_pinned(step, row, quiet)

    def _check_gradient(self, step: int, row: dict[str, float], quiet: bool) -> None:
        keys = [k for k in row if k.startswith("grad/") and k.endswith("/term/adversarial")]
        key = keys[0] if keys else "grad/generator/generator"
        if key not in row or self._warned("vanishing"):
            return
        value = row[key]
        if not _number(value):  # null in a log: a non-finite value (checkpoint.json_text)
            return
        if len(self._start) < GRAD_WINDOW:
            self._start.append(value)
            return
        self._recent.append(value)
        start, now = statistics.median(self._start), statistics.median(self._recent)
        if len(self._recent) == GRAD_WINDOW and start > 0 and now < start / VANISH_FACTOR:
            self._warn("vanishing", step, f"the generator's GAN gradient ({key}) fell from {start:.3g} at the start "
                                          f"to {now:.3g} ({f'{start / now:,.0f}x smaller' if now > 0 else 'exactly 0'}): vanishing gradients",
                       quiet)

    def _check_pinned(self, step: int, row: dict[str, float], quiet: bool) -> None:
        value = row.get("diag/d_fake")
        if not _number(value):
            return
        if PIN_LOW < value < PIN_HIGH:
            self._pinned_since = None
            return
        if self._pinned_since is None:
            self._pinned_since = step
        if step - self._pinned_since + 1 == PIN_STEPS:
            side = "0 (D rejects every sample)" if value <= PIN_LOW else "1 (D accepts every sample)"
            self._warn("pinned", step, f"D(G(z)) has stayed near {side} since step {self._pinned_since}", quiet)

    def observe_snapshot(self, step: int, samples, quiet: bool = False) -> None:
        """A snapshot's samples (2D mixtures only: strict modes against the earlier best)."""
        if not hasattr(self.data, "centres"):
            return
        import torch

        from aegan.metrics.mixture import mixture_scores

        modes = mixture_scores(torch.as_tensor(samples), self.data.centres.cpu(), self.data.std,
                               self.data.weights.cpu())["strict_modes"]
        if self._best_modes is not None and modes < self._best_modes[0] and modes < self._lowest_warned_modes:
            best, at = self._best_modes
            self._lowest_warned_modes = modes
            self._warn("collapse", step, f"the snapshot holds {modes:.0f} strict modes, fewer than the {best:.0f} "
                                         f"at step {at}: collapse in progress", quiet)
        if self._best_modes is None or modes > self._best_modes[0]:
            self._best_modes = (modes, step)
