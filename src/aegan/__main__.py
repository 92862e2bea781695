"""``python -m aegan``: the command line (``aegan.cli``)."""

import sys

from aegan.cli import main

if __name__ == "__main__":
    sys.exit(main())
