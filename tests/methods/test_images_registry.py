"""Every registered method (looked up when the tests run) trains on images with the conv
family: one step per phase on sklearn's 8x8 digits with tiny nets, finite losses, each phase
moves exactly the nets it declares; and a short run writes image snapshots and a grid."""

from __future__ import annotations

import math

import pytest
import torch

from aegan.methods import METHODS
from aegan.train import Trainer
from tests.conftest import tiny_config

IMAGE = {
    "data": {"name": "digits"},
    "model": {"family": "conv", "latent_dim": 4, "width": 4, "fc": 16, "layers": 2},
    "eval": {"metrics": [], "n_samples": 64},
}


def _config(method: str, family: str = "conv", **overrides):
    model = dict(IMAGE["model"], family=family)
    if family == "dcgan":
        model["fc"] = 0
    return tiny_config(**{"method.name": method, "data": IMAGE["data"], "model": model, "eval": IMAGE["eval"],
                          **overrides})


def _params(trainer):
    return {name: [p.detach().clone() for p in net.parameters()] for name, net in trainer.nets.items()}


def _moved(before, trainer, name):
    return any(not torch.equal(a, b) for a, b in zip(before[name], trainer.nets[name].parameters()))


@pytest.mark.parametrize("name", list(METHODS))
def test_method_runs_on_conv_nets(name, tmp_path):
    trainer = Trainer(_config(name), tmp_path)
    scratch: dict = {}
    batch = trainer.data.next_batch(trainer.config.train.batch_size)
    assert batch.x.shape[1:] == (1, 8, 8)
    for phase in trainer.method.phases(0):
        if phase.fresh_batch:
            batch = trainer.data.next_batch(trainer.config.train.batch_size)
        before = _params(trainer)
        terms, norms = trainer.run_phase(phase, batch, scratch)
        for term, value in terms.items():
            assert value.dim() == 0 and math.isfinite(value.item()), f"{name} {phase.name}/{term} = {value}"
        for net in trainer.nets:
            if net in phase.updates:
                assert norms[net].item() > 0, f"{name} phase {phase.name}: {net} got no gradient"
                assert _moved(before, trainer, net), f"{name} phase {phase.name}: {net} did not move"
            else:
                assert not _moved(before, trainer, net), f"{name} phase {phase.name} moved {net}"
    samples = trainer.generate(3, seed=0)
    assert samples.shape == (3, 1, 8, 8) and torch.isfinite(samples).all()


def test_short_run_writes_image_snapshots(tmp_path):
    trainer = Trainer(_config("nsgan", family="dcgan"), tmp_path)
    trainer.fit(progress=False)
    snaps = sorted((tmp_path / "samples").glob("step_*.npy"))
    assert snaps and (tmp_path / "samples.png").is_file()
