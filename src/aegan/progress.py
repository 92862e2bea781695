"""One switch for every progress bar: training, comparisons, dataset decoding, Inception features.

``aegan ... --no-progress`` turns them all off, in this process and in the worker processes it
starts (through the environment variable ``AEGAN_NO_PROGRESS``), not only the bar of the
command itself. Standard library only (the CLI imports it before torch).
"""

from __future__ import annotations

import contextlib
import os

ENV = "AEGAN_NO_PROGRESS"


def disable(progress: bool | None = None) -> bool | None:
    """tqdm's ``disable`` argument: True when ``progress`` is False or bars are turned off;
    otherwise None (tqdm's own choice: a bar on a terminal, none in a log file)."""
    if progress is False or os.environ.get(ENV):
        return True
    return None


@contextlib.contextmanager
def turned_off(off: bool = True):
    """Within the block, every bar is off (``off``), here and in processes started from here."""
    if not off:
        yield
        return
    before = os.environ.get(ENV)
    os.environ[ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
