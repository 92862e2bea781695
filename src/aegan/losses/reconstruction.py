"""Reconstruction distances between a batch and its reconstruction.

Three distances: the l2 norm ||x - x_hat||_2 (000 App. D: "The reconstruction error is
measured by l2-norm"), its square (001 Eq. 1 and App. A; 002's Gaussian log-likelihood) and
the l1 norm (003 Eq. 3). Two reductions, because the seed papers put their constants on
different quantities:

- ``"sum"``: per sample, the distance over every data dimension (pixels, coordinates),
  then the mean over the batch: the distance of whole samples, E_x d(x, G(E(x))).
- ``"mean"``: a per-element error: the mean over every element (batch and data dimensions)
  for l1 and the squared l2 (003's lambda = 5 beside a log-loss of order one); for the l2
  norm, the per-sample root mean square ||x - x_hat||_2 / sqrt(D).

Each method's docstring says which one its paper's constants multiply.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

Reduction = Literal["sum", "mean"]


def _reduce(elementwise: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return elementwise.mean()
    if reduction == "sum":
        return elementwise.flatten(1).sum(1).mean()
    raise ValueError(f"unknown reduction {reduction!r}; accepted: sum, mean")


def l2(x: Tensor, x_hat: Tensor, reduction: Reduction = "sum") -> Tensor:
    """E_x ||x - x_hat||_2, the unsquared norm of each sample (``sum``), or E_x of its root
    mean square ||x - x_hat||_2 / sqrt(D) (``mean``). Its gradient has norm 1 per sample
    whatever the error's size (0 where a sample is reconstructed exactly)."""
    if reduction not in ("sum", "mean"):
        raise ValueError(f"unknown reduction {reduction!r}; accepted: sum, mean")
    norms = torch.linalg.vector_norm((x - x_hat).flatten(1), dim=1)
    if reduction == "mean":
        norms = norms / math.sqrt(x[0].numel())
    return norms.mean()


def squared_l2(x: Tensor, x_hat: Tensor, reduction: Reduction = "sum") -> Tensor:
    """E_x ||x - x_hat||_2^2 (``sum``) or the mean squared error per element (``mean``)."""
    return _reduce((x - x_hat).pow(2), reduction)


def l1(x: Tensor, x_hat: Tensor, reduction: Reduction = "sum") -> Tensor:
    """E_x ||x - x_hat||_1 (``sum``) or the mean absolute error per element (``mean``)."""
    return _reduce((x - x_hat).abs(), reduction)


