"""Shared helpers of the method tests: a tiny trainer and one batch."""

from __future__ import annotations

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
