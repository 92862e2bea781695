"""A spawned compare worker must reach its parent-death initialiser before any heavy import."""

import subprocess
import sys


def test_worker_start_path_imports_no_torch():
    # The spawn start re-imports the parent's __main__ (aegan.cli or the console script that
    # imports it) and unpickles the initialiser (aegan.orphans) before arming PR_SET_PDEATHSIG;
    # torch there would leave seconds in which a killed parent's workers live on.
    # the initialiser is aegan.plugins.worker_init (die_with_parent, then the parent's plugins)
    code = ("import sys, aegan.cli, aegan.orphans, aegan.plugins; "
            "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "torch" not in out, out


def test_compare_uses_the_light_initialiser(monkeypatch):
    from aegan import compare, orphans, plugins

    assert compare.worker_init is plugins.worker_init
    calls = []
    monkeypatch.setattr(orphans, "die_with_parent", lambda pid: calls.append(("die_with_parent", pid)))
    monkeypatch.setattr(plugins, "load_plugins", lambda specs, **kw: calls.append(("load_plugins", specs)))
    plugins.worker_init(123, ["my_plugin"])
    assert calls == [("die_with_parent", 123), ("load_plugins", ["my_plugin"])]  # the signal is armed first
