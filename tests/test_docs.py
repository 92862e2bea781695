"""The docs site (mkdocs.yml, docs/, the API reference from the docstrings) builds with --strict."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[dev]' brings it")
pytest.importorskip("mkdocstrings_handlers.python",
                    reason="mkdocstrings[python] is not installed: pip install -e '.[dev]' brings it")


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(root / "mkdocs.yml"),
               "--site-dir", str(site)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_docs_and_the_api_reference_build_strictly(tmp_path):
    done = build(ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    import aegan

    for name in aegan.__all__:  # every public name has its entry (docs/api.md lists them)
        assert f'id="aegan.{name}"' in api or f'id="aegan.api.{name}"' in api, f"aegan.{name}: not in docs/api.md"
    for name in ("aegan.api.train", "aegan.api.load", "aegan.plugins.load_plugins", "aegan.methods.base.Method"):
        assert f'id="{name}"' in api, name


@pytest.mark.parametrize("broken", ["::: aegan.api.no_such_function\n", "[a page](no_such_page.md)\n"])
def test_a_broken_reference_fails_the_build(tmp_path, broken):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    (tmp_path / "src").symlink_to(ROOT / "src")
    with open(tmp_path / "docs" / "api.md", "a") as page:
        page.write("\n" + broken)
    done = build(tmp_path, tmp_path / "site")
    assert done.returncode != 0 and ("no_such" in done.stderr), done.stderr[-3000:]
