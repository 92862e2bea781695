"""Tiny TorchScript networks standing in for the Inception files in tests."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class PoolFeatures(nn.Module):
    """(n, 3, 299, 299) -> (n, 3 * size^2) average-pooled pixels: a cheap feature net."""

    def __init__(self, size: int = 4):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, self.size).flatten(1)


class PoolLogits(nn.Module):
    """(n, 3, 299, 299) -> (n, classes) logits, a fixed projection of pooled pixels."""

    def __init__(self, classes: int = 1008, size: int = 4):
        super().__init__()
        self.size = size
        self.proj = nn.Linear(3 * size * size, classes)
        with torch.no_grad():
            g = torch.Generator().manual_seed(0)
            self.proj.weight.copy_(torch.randn(classes, 3 * size * size, generator=g) * 5)
            self.proj.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.adaptive_avg_pool2d(x, self.size).flatten(1))


def save_script(module: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    return path
