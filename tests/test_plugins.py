"""Plugins (aegan.plugins): the example method through `aegan compare --workers 2`, the three
sources (--plugin, AEGAN_PLUGINS, entry points), every registry, and the errors."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import aegan
from aegan.cli import main
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugins" / "my_method.py"

# a lab's plugin of the three other kinds: a dataset, a net family, a metric with its table column
LAB_PLUGIN = '''
import torch
from pydantic import PositiveFloat

from aegan.data import DataConfig, DataSource, register_dataset
from aegan.methods import Batch
from aegan.metrics import register_metric
from aegan.nets import register_family
from aegan.nets.factory import MLPConfig, MLPFactory


class SegmentConfig(DataConfig):
    data_kind = "vectors"
    length: PositiveFloat = 2.0


class Segment(DataSource):
    """Points uniform on the segment [-length/2, length/2] x {0}."""

    shape = (2,)
    protocol = "segment"

    def __init__(self, config, seed, device):
        super().__init__(seed, device)
        self.config = config

    def next_batch(self, n):
        x = (torch.rand(n, generator=self.rng) - 0.5) * self.config.length
        return Batch(torch.stack([x, torch.zeros(n)], 1).to(self.device))


register_dataset("segment", SegmentConfig, lambda config, seed, device: Segment(config, seed, device))
register_family("lab_mlp", MLPConfig, MLPFactory)


@register_metric("spread", data_kinds=("vectors",), columns=(("spread (std of x)", "spread/std_x", 3),))
def spread(ctx, params):
    return {"std_x": float(ctx.generate(ctx.n_samples)[:, 0].std())}
'''


def _tiny_yaml(tmp_path: Path, **sections) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, **sections}))
    return path


def _aegan(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), environ.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "aegan", *args], capture_output=True, text=True, env=environ,
                          cwd=cwd, timeout=600)


def _config_error(proc: subprocess.CompletedProcess, *parts: str) -> None:
    """One line on stderr, exit 2 as for any config error, no traceback, naming ``parts``."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("aegan: config error: plugin "), proc.stderr
    for part in parts:
        assert part in proc.stderr, (part, proc.stderr)


def test_the_example_method_in_compare_with_two_workers_tables_and_report(tmp_path, capsys, isolated_plugins):
    config, out = _tiny_yaml(tmp_path), tmp_path / "out"
    args = ["compare", str(config), "--methods", "nsgan,hinge_gan", "--seeds", "1", "--workers", "2",
            "--out", str(out), "--no-progress", "--train.steps=4"]
    assert main(args) == 2  # without the plugin the name is unknown: the plugin is what makes it work
    assert "unknown method 'hinge_gan'" in capsys.readouterr().err
    done = _aegan(*args, "--plugin", str(EXAMPLE.relative_to(ROOT)))  # trained in the spawned workers
    assert done.returncode == 0, done.stderr
    table = (out / "results.md").read_text()
    assert "| hinge_gan | 1 |" in table and "| nsgan | 1 |" in table
    runs = {r["label"]: r for r in json.loads((out / "results.json").read_text())}
    assert runs["hinge_gan"]["method"] == "hinge_gan" and "mixture/modes" in runs["hinge_gan"]["metrics"]
    logged = json.loads((out / "tiny" / "hinge_gan" / "seed0" / "log.jsonl").read_text().splitlines()[0])
    assert {"loss/discriminator/hinge_real", "loss/discriminator/hinge_fake", "loss/generator/adversarial"} <= set(logged)
    # tables and report read the records (the plugin loads and changes nothing there)
    tables = tmp_path / "tables.md"
    assert main(["tables", str(out), "--out", str(tables), "--plugin", str(EXAMPLE)]) == 0
    assert "| hinge_gan | 1 |" in tables.read_text()
    assert main(["report", str(out), "--plugin", str(EXAMPLE), "--out", str(tmp_path / "r.html")]) == 0
    assert "hinge_gan" in (tmp_path / "r.html").read_text()


def test_dry_run_times_a_plugin_method(tmp_path, capsys, isolated_plugins):
    config = _tiny_yaml(tmp_path)
    assert main(["--plugin", str(EXAMPLE), "compare", str(config), "--methods", "nsgan,hinge_gan", "--seeds", "1",
                 "--out", str(tmp_path / "plan"), "--dry-run", "--train.steps=100"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "table: 1.00 x" in lines[0]  # nsgan: from the shipped table
    assert "ms/step x 100; timed: hinge_gan, a plugin's method, timed here, 20 steps)" in lines[1], lines[1]
    assert lines[-2].endswith("(0 from finished runs, 1 from the cost table, 1 timed here), 0 of unknown cost")


def test_aegan_plugins_env_brings_a_dataset_a_net_family_and_a_metric_with_its_column(tmp_path):
    (tmp_path / "lab_plugin.py").write_text(LAB_PLUGIN)
    config = _tiny_yaml(tmp_path, data={"name": "segment", "length": 3.0},
                        model={"family": "lab_mlp", "latent_dim": 2, "hidden": 16, "depth": 2},
                        eval={"metrics": ["spread"], "n_samples": 200})
    env = {"AEGAN_PLUGINS": os.pathsep.join([str(tmp_path / "lab_plugin.py"), str(EXAMPLE)])}
    out = tmp_path / "out"
    done = _aegan("compare", str(config), "--methods", "hinge_gan,nsgan", "--seeds", "1", "--workers", "2",
                  "--out", str(out), "--no-progress", "--train.steps=4", env=env)
    assert done.returncode == 0, done.stderr
    table = (out / "results.md").read_text()
    assert "| method | seeds | spread (std of x) | ms/step |" in table and "| hinge_gan | 1 |" in table
    runs = json.loads((out / "results.json").read_text())
    assert all(r["metrics"]["spread/std_x"] >= 0 and r["protocol"] == {"protocol": "segment"} for r in runs)


def test_an_entry_point_of_an_installed_package(tmp_path, monkeypatch, capsys, isolated_plugins):
    """An installed package's ``aegan.plugins`` entry points (a dist-info directory on the path):
    a module, and a module:function that is called; a broken one is an error naming it."""
    site = tmp_path / "site"
    (site / "fake_lab-1.0.dist-info").mkdir(parents=True)
    (site / "fake_lab-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-lab\nVersion: 1.0\n")
    (site / "fake_lab-1.0.dist-info" / "entry_points.txt").write_text(
        "[aegan.plugins]\nmodule = fake_plugin_module\nhook = fake_plugin_hook:register_all\n")
    (site / "fake_plugin_module.py").write_text(EXAMPLE.read_text())
    (site / "fake_plugin_hook.py").write_text(textwrap.dedent('''
        def register_all():  # called once its module is imported
            from aegan.methods import register
            from aegan.methods.gan import NSGAN

            register(type("HookGAN", (NSGAN,), {"name": "hook_gan", "summary": "registered by a function"}))
    '''))
    monkeypatch.syspath_prepend(str(site))
    assert main(["methods"]) == 0
    listed = capsys.readouterr().out
    assert "hinge_gan" in listed and "hook_gan" in listed
    assert aegan.load_plugins() == ["fake_plugin_module", "fake_plugin_hook:register_all"]  # once each
    (site / "broken_ep.py").write_text("import nosuch_dependency\n")
    (site / "fake_lab-1.0.dist-info" / "entry_points.txt").write_text("[aegan.plugins]\nbroken = broken_ep\n")
    assert main(["methods"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aegan: config error: plugin broken_ep (entry point 'broken' of group aegan.plugins): "
                          "failed to import: ModuleNotFoundError: No module named 'nosuch_dependency' (at ") \
        and len(err.strip().splitlines()) == 1


def test_a_plugin_that_fails_to_import_is_one_error_naming_it(tmp_path, capsys, isolated_plugins):
    broken = tmp_path / "broken_plugin.py"
    broken.write_text("import math\n\nraise RuntimeError('the lab server is down')\n")
    config = str(_tiny_yaml(tmp_path))
    message = f"plugin {broken}: failed to import: RuntimeError: the lab server is down (at {broken}:3)"
    _config_error(_aegan("compare", config, "--methods", "nsgan", "--workers", "2", "--plugin", str(broken)), message)
    _config_error(_aegan("train", config, env={"AEGAN_PLUGINS": str(broken)}), f"plugin {broken} (from AEGAN_PLUGINS)")
    (tmp_path / "syntax.py").write_text("def f(:\n")
    for plugin, part in ((str(tmp_path / "syntax.py"), "failed to import: SyntaxError: invalid syntax (at "),
                         ("no_such_lab.gans", "plugin no_such_lab.gans: no module named 'no_such_lab'"),
                         (str(tmp_path / "none.py"), f"plugin {tmp_path / 'none.py'}: no such file or directory")):
        assert main(["methods", "--plugin", plugin]) == 2
        err = capsys.readouterr().err
        assert err.startswith("aegan: config error: ") and part in err and len(err.strip().splitlines()) == 1, err


def test_a_plugin_that_registers_a_taken_name_is_one_error_naming_it(tmp_path, capsys, monkeypatch, isolated_plugins):
    monkeypatch.chdir(ROOT)
    taken = tmp_path / "taken.py"
    taken.write_text(EXAMPLE.read_text().replace('name = "hinge_gan"', 'name = "nsgan"'))
    _config_error(_aegan("train", str(_tiny_yaml(tmp_path)), "--plugin", str(taken)),
                  f"plugin {taken}: registers method 'nsgan', a name that aegan.methods.gan registered already; "
                  "give it another name")
    copy = tmp_path / "copy.py"  # a second file with the example's method name
    copy.write_text(EXAMPLE.read_text())
    assert main(["methods", "--plugin", str(EXAMPLE.relative_to(ROOT)), "--plugin", str(copy)]) == 2
    assert capsys.readouterr().err == (f"aegan: config error: plugin {copy}: registers method 'hinge_gan', a name "
                                       "that plugin examples/plugins/my_method.py registered already; give it another "
                                       "name\n")


def test_loading_is_idempotent_and_a_failed_plugin_is_rolled_back(tmp_path, monkeypatch, isolated_plugins):
    from aegan.methods import METHODS

    monkeypatch.chdir(ROOT)
    assert aegan.load_plugins(["examples/plugins/my_method.py", str(EXAMPLE)]) == [str(EXAMPLE)]
    assert aegan.load_plugins(EXAMPLE) == [str(EXAMPLE)] and "hinge_gan" in METHODS  # once, however named
    half = tmp_path / "half.py"
    half.write_text(EXAMPLE.read_text().replace('name = "hinge_gan"', 'name = "half_gan"')
                    + "\nraise ImportError('broken after registering')\n")
    with pytest.raises(aegan.PluginError, match=r"half.py: failed to import: ImportError: broken after registering"):
        aegan.load_plugins(half)
    assert "half_gan" not in METHODS  # what it registered before failing is gone: a fixed file loads again
    half.write_text(half.read_text().replace("raise ImportError('broken after registering')", ""))
    aegan.load_plugins(half)
    assert METHODS.owner("half_gan").startswith("aegan_plugin_half")


def test_workers_get_the_modules_that_registered_entries(tmp_path, monkeypatch, isolated_plugins):
    """A method registered by a module the user imported (not through load_plugins) reaches
    the workers by its module name; one defined in an interactive __main__ cannot: a clear error."""
    from aegan.methods import METHODS, register
    from aegan.methods.gan import NSGAN
    from aegan.plugins import PluginError, worker_specs

    (tmp_path / "fake_plugin_lab.py").write_text(EXAMPLE.read_text().replace('"hinge_gan"', '"lab_gan"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    import fake_plugin_lab  # noqa: F401 - registers lab_gan

    aegan.load_plugins(EXAMPLE)
    assert worker_specs() == [str(EXAMPLE), "fake_plugin_lab"]
    NotebookGAN = type("NotebookGAN", (NSGAN,), {"name": "notebook_gan", "summary": "", "__module__": "__main__"})
    monkeypatch.setattr(sys.modules["aegan.registry"], "_registering_module", lambda: "__main__")
    register(NotebookGAN)
    assert METHODS.owner("notebook_gan") == "__main__"
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)  # an interactive session
    with pytest.raises(PluginError, match="method 'notebook_gan' is defined in this interactive session"):
        worker_specs()


def test_a_plugin_metric_s_columns_in_tables(tmp_path, isolated_plugins):
    from aegan.results.cells import columns_for

    results = [{"metrics": {"spread/std_x": 1.0, "other/value": 2.0, "mixture/modes": 8, "mixture/total_modes": 8}}]
    before = columns_for(results)
    (tmp_path / "lab_plugin.py").write_text(LAB_PLUGIN)
    aegan.load_plugins(tmp_path / "lab_plugin.py")
    added = [c for c in columns_for(results) if c not in before]
    assert added == [("spread (std of x)", "spread/std_x", 3)]  # declared by register_metric(columns=...)


def test_the_docs_show_the_example_as_it_is():
    """docs/plugins.md's "30 lines" are examples/plugins/my_method.py's code, verbatim."""
    import re

    code = EXAMPLE.read_text().split('"""', 2)[2].strip()  # the file after its docstring
    block = re.findall(r"^```python\n(.*?)^```$", (ROOT / "docs" / "plugins.md").read_text(), flags=re.S | re.M)[0]
    assert block.strip() == code
    assert len([line for line in code.splitlines() if line.strip()]) <= 30
