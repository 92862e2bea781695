"""``python -m aegan ...``: the ``aegan`` command (``aegan.cli``)."""

from aegan.cli import main  # no torch at import: `aegan compare` workers re-import the parent's __main__

if __name__ == "__main__":  # a spawned worker imports this module as __mp_main__: no command then
    raise SystemExit(main())
