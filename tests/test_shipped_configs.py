"""Every config under configs/ is valid for every registered method (a typo in a `methods:`
entry or a renamed field must fail here, not hours into a GPU run)."""

from pathlib import Path

import pytest
import yaml

from aegan.results.rows import Job
from aegan.config import SHARED_METHOD_KEY
from aegan.methods import METHODS

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").rglob("*.yaml"))


def test_configs_are_found():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_config_builds_for_every_method_and_variant(path):
    raw = yaml.safe_load(path.read_text())
    labels = (set(METHODS) | set(raw.get("methods") or {})) - {SHARED_METHOD_KEY}
    for label in sorted(labels):
        config = Job(str(path), label, 0, "", ()).config()
        assert config.method.name in METHODS
    for label, spec in (raw.get("methods") or {}).items():  # per-method entries name real methods
        assert label in METHODS or "name" in spec or label == SHARED_METHOD_KEY, f"{path.name}: methods.{label} is neither a method nor a variant"


def test_image_configs_give_baselines_their_image_settings():
    stacked = str(next(p for p in CONFIGS if p.name == "stacked_mnist.yaml"))
    assert Job(stacked, "began", 0, "", ()).config().method.params.code_dim == 64
    assert Job(stacked, "gmmn", 0, "", ()).config().method.params.bandwidths[-1] == 80.0
    gan_ae = Job(stacked, "gan_ae", 0, "", ()).config().method.params
    assert (gan_ae.reconstruction_weight, gan_ae.distance, gan_ae.reduction) == (100.0, "l2", "sum")  # 000 App. D


TABLES_003 = ["cifar10_table3", "cifar10_table3_cpu", "celeba_table6", "celeba_table6_cpu",
              "fashion_mnist_standin", "fashion_mnist_standin_cpu"]


@pytest.mark.parametrize("name", TABLES_003)
def test_one_schedule_for_every_row_of_003s_tables(name):
    """003 Sec. 6: two G updates per D update for every model; only the labelled 1-step
    variants differ, and only in that."""
    path = next(p for p in CONFIGS if p.stem == name)
    raw = yaml.safe_load(path.read_text())
    for label in sorted((set(METHODS) | set(raw["methods"])) - {SHARED_METHOD_KEY}):
        method = Job(str(path), label, 0, "", ()).config().method
        expected = 1 if label.endswith("_1g") or not METHODS[method.name].has_generator_phase else 2
        assert method.params.generator_steps == expected, f"{name}: {label} has {method.params.generator_steps} G steps"


@pytest.mark.parametrize("name", ["vanishing_mnist", "vanishing_mnist_cpu", "celeba_vlgan", "celeba_vlgan_cpu"])
def test_002s_rows_share_vlgans_learning_rates(name):
    """002 Sec. 4.1: D at 10x G's learning rate, for every row of 002's experiments."""
    path = next(p for p in CONFIGS if p.stem == name)
    for label in ("nsgan", "gan", "vlgan"):
        assert Job(str(path), label, 0, "", ()).config().train.lr_scale == {"discriminator": 10.0}
