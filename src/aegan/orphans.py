"""End a worker process when the process that started it dies, however it dies.

Kept free of heavy imports (torch, numpy): a spawned worker unpickles this module's
initialiser right after the interpreter starts, so the parent-death signal is armed
within a fraction of a second, not after the seconds that importing torch takes under load.
The command-line entry (aegan.cli) is light for the same reason: a spawned worker
re-imports the parent's main module before it reaches the initialiser.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time


def die_with_parent(parent_pid: int) -> None:
    """A worker's initialiser: end this worker when the comparing process dies, however it
    dies (kill -9 included), so that no orphan keeps training. Linux: the kernel signals the
    worker (prctl PR_SET_PDEATHSIG); elsewhere, and as a backstop, a thread polls the parent."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()
