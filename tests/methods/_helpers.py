"""Shared helpers of the method tests: a tiny trainer and one batch."""

from __future__ import annotations

import math

import torch

from aegan.train import Trainer
from tests.conftest import tiny_config


def tiny_trainer(name: str, tmp_path, **overrides) -> Trainer:
    torch.manual_seed(0)
    return Trainer(tiny_config(**{"method.name": name, **overrides}), tmp_path)


def batch_of(trainer):
    return trainer.data.next_batch(trainer.config.train.batch_size)


def sgd_step(loss, params, lr=0.05):
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p -= lr * g


def _params(trainer) -> dict[str, list[torch.Tensor]]:
    return {name: [p.detach().clone() for p in net.parameters()] for name, net in trainer.nets.items()}


def _moved(before, trainer, name: str) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before[name], trainer.nets[name].parameters()))


def check_one_step(trainer, label: str) -> list:
    """Run every phase of step 0 and check the contract: finite scalar terms, every net a
    phase updates gets a gradient and moves, every other net stays put. Returns the phases."""
    scratch: dict = {}
    batch = batch_of(trainer)
    phases = trainer.method.phases(0)
    assert phases, f"{label} returns no phases"
    for phase in phases:
        assert set(phase.updates) <= set(trainer.nets), f"{label} phase {phase.name} updates an unknown net"
        if phase.fresh_batch:
            batch = batch_of(trainer)
        before = _params(trainer)
        terms, norms = trainer.run_phase(phase, batch, scratch)
        assert terms, f"{label} phase {phase.name} returns no loss terms"
        for term, value in terms.items():
            assert value.dim() == 0 and math.isfinite(value.item()), f"{label} {phase.name}/{term} = {value}"
        for net in trainer.nets:
            if net in phase.updates:
                assert norms[net].item() > 0, f"{label} phase {phase.name}: {net} got no gradient"
                assert _moved(before, trainer, net), f"{label} phase {phase.name}: {net} did not move"
            else:
                assert not _moved(before, trainer, net), f"{label} phase {phase.name} moved {net}, which it does not update"
    return list(phases)
