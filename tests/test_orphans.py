"""A spawned compare worker must reach its parent-death initialiser before any heavy import."""

import subprocess
import sys


def test_worker_start_path_imports_no_torch():
    # The spawn start re-imports the parent's __main__ (aegan.cli or the console script that
    # imports it) and unpickles the initialiser (aegan.orphans) before arming PR_SET_PDEATHSIG;
    # torch there would leave seconds in which a killed parent's workers live on.
    code = "import sys, aegan.cli, aegan.orphans; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "torch" not in out, out


def test_compare_uses_the_light_initialiser():
    from aegan import compare, orphans

    assert compare.die_with_parent is orphans.die_with_parent
