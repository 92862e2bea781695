"""Every config under configs/ is valid for every registered method (a typo in a `methods:`
entry or a renamed field must fail here, not hours into a GPU run)."""

from pathlib import Path

import pytest
import yaml

from aegan.compare import Job
from aegan.methods import METHODS

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").rglob("*.yaml"))


def test_configs_are_found():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_config_builds_for_every_method_and_variant(path):
    raw = yaml.safe_load(path.read_text())
    labels = set(METHODS) | set(raw.get("methods") or {})
    for label in sorted(labels):
        config = Job(str(path), label, 0, "", ()).config()
        assert config.method.name in METHODS
    for label, spec in (raw.get("methods") or {}).items():  # per-method entries name real methods
        assert label in METHODS or "name" in spec, f"{path.name}: methods.{label} is neither a method nor a variant"


def test_image_configs_give_baselines_their_image_settings():
    stacked = str(next(p for p in CONFIGS if p.name == "stacked_mnist.yaml"))
    assert Job(stacked, "began", 0, "", ()).config().method.params.code_dim == 64
    assert Job(stacked, "gmmn", 0, "", ()).config().method.params.bandwidths[-1] == 80.0
    assert Job(stacked, "gan_ae", 0, "", ()).config().method.params.reconstruction_weight == 100.0  # 000: on the summed error
