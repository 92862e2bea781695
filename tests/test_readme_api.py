"""The README's "Python API" section: its ```python blocks run, in order, as written."""

import os
import re
from pathlib import Path

import aegan

ROOT = Path(__file__).resolve().parents[1]


def api_blocks(readme: str) -> list[str]:
    """The ```python blocks between the "## Python API" heading and the next "## " heading."""
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)


def test_the_readme_api_blocks_run(tmp_path, monkeypatch, isolated_plugins, capsys):
    blocks = api_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 2 and all("aegan." in block for block in blocks)
    for name in ("configs", "examples"):  # the README's paths are the repository's
        os.symlink(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md Python API block {i + 1}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "| hinge_gan | 2 |" in out and "| nsgan | 2 |" in out  # the plugin's row in the printed table
    assert isinstance(namespace["run"], aegan.Run) and namespace["x"].shape == (1000, 2)
    assert (tmp_path / "results" / "api" / "results.md").is_file() and list((tmp_path / "runs").iterdir())
