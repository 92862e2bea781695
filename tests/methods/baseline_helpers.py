"""Small stubs shared by the baseline method tests."""

from __future__ import annotations

import torch
from torch import nn

from aegan.methods import METHODS
from aegan.methods.base import Batch


def method(name: str, latent_dim: int = 2, **params):
    cls = METHODS[name]
    return cls(cls.Config(**params), latent_dim)


def batch(*rows) -> Batch:
    return Batch(torch.tensor(rows, dtype=torch.float32))


class Spy(nn.Module):
    """Records its inputs; returns a fixed function of them (first column, or a sum)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[torch.Tensor, ...]] = []

    def forward(self, *args):
        self.calls.append(tuple(a.detach().clone() for a in args))
        return self.w * sum(a.flatten(1).sum(1) for a in args)


class Affine(nn.Module):
    """x -> x * scale + shift, with a parameter so that it can be part of a graph."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))
        self.shift = shift

    def forward(self, x, source: str = "prior"):
        return x * self.scale + self.shift


class Linear(nn.Module):
    """D(x) = w.x."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return x @ self.w
