"""Every registered method: one step on CPU with tiny nets; finite losses; each phase moves
exactly the nets it declares, and every one of them receives a gradient."""

from __future__ import annotations

import math

import pytest
import torch

from aegan.methods import METHODS
from aegan.train import Trainer
from tests.conftest import tiny_config


def _snapshot(trainer):
    return {name: [p.detach().clone() for p in net.parameters()] for name, net in trainer.nets.items()}


def _changed(before, trainer, name):
    return any(not torch.equal(a, b) for a, b in zip(before[name], trainer.nets[name].parameters()))


@pytest.mark.parametrize("name", list(METHODS))
def test_method_runs_one_step(name, tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": name}), tmp_path)
    method = trainer.method
    assert set(trainer.nets) >= set(method.nets), "build_nets must build every declared net"
    scratch: dict = {}
    batch = trainer.data.next_batch(trainer.config.train.batch_size)
    phases = method.phases(0)
    assert phases, f"{name} returns no phases"
    for phase in phases:
        assert set(phase.updates) <= set(trainer.nets), f"phase {phase.name} updates an unknown net"
        if phase.fresh_batch:
            batch = trainer.data.next_batch(trainer.config.train.batch_size)
        before = _snapshot(trainer)
        terms, norms = trainer.run_phase(phase, batch, scratch)
        assert terms, f"phase {phase.name} returns no loss terms"
        for term, value in terms.items():
            assert value.dim() == 0 and math.isfinite(value.item()), f"{phase.name}/{term} = {value}"
        for net in trainer.nets:
            if net in phase.updates:
                assert norms[net].item() > 0, f"phase {phase.name}: net {net} got no gradient"
                assert _changed(before, trainer, net), f"phase {phase.name}: net {net} did not move"
            else:
                assert not _changed(before, trainer, net), f"phase {phase.name} moved {net}, which it does not update"
    every_updated = {n for p in phases for n in p.updates}
    assert every_updated, "no phase updates anything"


@pytest.mark.parametrize("name", list(METHODS))
def test_method_has_summary_and_state_roundtrip(name):
    cls = METHODS[name]
    assert cls.summary and "\n" not in cls.summary
    method = cls(cls.Config(), latent_dim=2)
    method.load_state_dict(method.state_dict())
