"""The layering is a checked contract: import-linter's contracts in pyproject.toml
(``[tool.importlinter]``) hold for the source tree, and a module that imports upwards fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(sys.argv[1], no_cache=True, no_logo=True))")


def lint(src: Path, config: Path = ROOT / "pyproject.toml") -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``src`` (not the installed one: PYTHONPATH)."""
    return subprocess.run([sys.executable, "-c", LINT, str(config)], cwd=src.parent, capture_output=True, text=True,
                          env={"PYTHONPATH": str(src), "PATH": "", "NO_COLOR": "1"}, timeout=120)


def test_the_source_tree_keeps_every_import_contract():
    done = lint(ROOT / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_an_import_back_into_compare_breaks_the_contracts(tmp_path):
    """Put back the circle the results package broke (tables importing compare inside a
    function): the lint fails and names the import."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "aegan", src / "aegan", ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    tables = src / "aegan" / "results" / "tables.py"
    tables.write_text(tables.read_text() + "\n\ndef _circle():\n    from aegan.compare import run_job\n")
    done = lint(src)
    assert done.returncode != 0
    assert "aegan.results.tables -> aegan.compare" in done.stdout


def test_every_module_is_in_a_layer():
    """A new module must be placed in the layers (else the contract says nothing about it)."""
    contract = next(c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
                    if c["type"] == "layers")
    layered = {name.strip() for layer in contract["layers"] for name in layer.replace(":", "|").split("|")}
    package = ROOT / "src" / "aegan"
    modules = {".".join(("aegan", *p.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
               for p in package.rglob("*.py")}
    containers = {m for m in modules if (package.parent / m.replace(".", "/") / "__init__.py").is_file()}
    unplaced = [m for m in sorted(modules) if not any(m == name or m.startswith(name + ".") for name in layered)
                and m not in containers]
    assert not unplaced, f"modules in no layer of pyproject's [tool.importlinter] contract: {unplaced}"
