"""The fault battery's command: reproduce classes of faults against the `aegan` CLI and tabulate the
outcomes (the rows, the options and the output: ``fault_battery/runner.py``, or ``--help``).

    python benchmarks/faults.py --quick                       # a few trials per class (< 3 minutes on 2 cores)
    python benchmarks/faults.py --quick --only kill_train,config_fuzz   # names or row numbers (1-9)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_battery.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
