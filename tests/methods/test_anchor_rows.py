"""The rows of issue 29 that this branch adds (veegan, r1, r3gan): listed by `aegan methods`, a few
finite training steps on the shipped ring8 protocol, one step on images, exact checkpoint resume."""

import json
import math
from pathlib import Path

import pytest
import torch

from aegan.cli import main
from aegan.results.rows import Job
from aegan.train import Trainer, open_run
from tests.conftest import tiny_config
from tests.methods._helpers import check_one_step

ROWS = ["veegan", "r1", "r3gan"]
ROOT = Path(__file__).resolve().parents[2]


def test_methods_lists_them(capsys):
    assert main(["methods"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert set(ROWS) <= listed


@pytest.mark.parametrize("name", ROWS)
@pytest.mark.parametrize("table", ["ring8", "grid25"])
def test_a_few_steps_on_the_2d_protocol_are_finite(name, table, tmp_path):
    """The shipped row (configs/toy/<table>.yaml: its nets, lr, batch), 4 steps, batch 64."""
    overrides = (("train.steps", 4), ("train.batch_size", 64), ("train.log_every", 1), ("train.snapshots", 1),
                 ("train.checkpoint_every", 4), ("eval.n_samples", 200))
    config = Job(str(ROOT / "configs" / "toy" / f"{table}.yaml"), name, 0, "", overrides).config()
    assert config.method.name == name
    torch.manual_seed(0)
    Trainer(config, tmp_path).fit(progress=False)
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    losses = {k: v for row in rows for k, v in row.items() if k.startswith("loss/")}
    assert len(rows) == 4 and losses
    assert all(isinstance(v, float) and math.isfinite(v) for row in rows for k, v in row.items()
               if k.startswith(("loss/", "grad/", "diag/"))), rows[-1]


@pytest.mark.parametrize("name", ROWS)
def test_one_step_on_images(name, tmp_path):
    """On the DCGAN family (stacked MNIST's): VEEGAN's joint D on conv features and its conv
    encoder, the penalties' double backward through conv layers."""
    model = {"family": "dcgan", "latent_dim": 4, "width": 4, "fc": 0, "layers": 2, "d_batchnorm": True}
    torch.manual_seed(0)
    trainer = Trainer(tiny_config(**{"method.name": name, "data": {"name": "digits"}, "model": model,
                                     "eval": {"metrics": [], "n_samples": 64}}), tmp_path)
    check_one_step(trainer, name)


def _params(trainer):
    return {f"{n}.{k}": v.clone() for n, net in trainer.nets.items() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("name", ROWS)
def test_checkpoint_round_trip(name, tmp_path):
    """3 steps, checkpoint, resume to 6 = 6 steps in one go, parameter for parameter."""
    full = Trainer(tiny_config(**{"method.name": name, "train.steps": 6}), tmp_path / "full")
    full.fit(progress=False)
    part = Trainer(tiny_config(**{"method.name": name, "train.steps": 3}), tmp_path / "part")
    part.fit(progress=False)
    resumed = open_run(tmp_path / "part", {"train.steps": 6})
    assert resumed.step == 3
    resumed.fit(progress=False)
    a, b = _params(full), _params(resumed)
    assert a.keys() == b.keys() and a
    for key in a:
        assert torch.equal(a[key], b[key]), f"{name}: {key}"
