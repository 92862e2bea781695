"""Every built-in method's Config defaults, pinned (``method_defaults.json``).

Records are read with ``records.method_setting``: a field a method gained after a record was
written takes its default, so that default must keep the behaviour before the field, and an
existing default must never change (the records made before would silently read as the new
setting). This test makes either change deliberate: it fails on a changed default, a new
field, a removed field or a new method until the snapshot is rewritten with
``python -m tests.methods.test_method_defaults --write`` (after checking the convention holds;
a changed default of a paper's method needs a new labelled variant instead).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aegan.methods import METHODS

SNAPSHOT = Path(__file__).with_name("method_defaults.json")
REWRITE = "python -m tests.methods.test_method_defaults --write"


def current_defaults() -> dict[str, dict[str, Any]]:
    """Each built-in method's Config field defaults, as JSON values (plugins a test registered
    in this process are left out)."""
    return {name: method.Config().model_dump(mode="json") for name, method in METHODS.items()
            if METHODS.owner(name).startswith("aegan.methods.")}


def differences(pinned: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> list[str]:
    """What moved between the snapshot and the code, one line per change."""
    lines = [f"new method {m}" for m in sorted(set(current) - set(pinned))]
    lines += [f"method {m} is gone" for m in sorted(set(pinned) - set(current))]
    for name in sorted(set(pinned) & set(current)):
        old, new = pinned[name], current[name]
        lines += [f"{name}.{f}: default changed {old[f]!r} -> {new[f]!r} (records made before now read as "
                  f"{new[f]!r}; keep the default and add a labelled variant)"
                  for f in sorted(set(old) & set(new)) if old[f] != new[f]]
        lines += [f"{name}.{f}: new field, default {new[f]!r} (it must keep the behaviour before the field)"
                  for f in sorted(set(new) - set(old))]
        lines += [f"{name}.{f}: field removed (its records hold it; method_setting will refuse them)"
                  for f in sorted(set(old) - set(new))]
    return lines


def test_no_method_default_moved_without_rewriting_the_snapshot():
    changes = differences(json.loads(SNAPSHOT.read_text()), current_defaults())
    assert not changes, "method defaults differ from tests/methods/method_defaults.json:\n  " + "\n  ".join(
        changes) + f"\nIf each change keeps the recorded behaviour, rewrite the snapshot: {REWRITE}"


def test_the_check_names_a_changed_default_and_a_new_field():
    pinned = {"nsgan": {"lr": 2e-4}, "gone": {}}
    current = {"nsgan": {"lr": 1e-4, "extra": 1}, "fresh": {}}
    changes = differences(pinned, current)
    assert changes[0] == "new method fresh" and changes[1] == "method gone is gone"
    assert changes[2].startswith("nsgan.lr: default changed 0.0002 -> 0.0001")
    assert changes[3].startswith("nsgan.extra: new field, default 1")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    SNAPSHOT.write_text(json.dumps(current_defaults(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")
