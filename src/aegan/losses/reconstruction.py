"""Reconstruction distances between a batch and its reconstruction.

Two reductions, because the seed papers put their constants on different quantities:

- ``"sum"``: per sample, the distance summed over every data dimension (pixels,
  coordinates), then the mean over the batch: the norm of a whole sample, ||x - G(E(x))||^2
  (000 Eq. 3 / Algorithm 1, whose alpha = 0.1 and stage switch at L < 1/alpha = 10 only mean
  something for a summed image error; 001 Eq. 1 and App. A; 002's Gaussian log-likelihood).
- ``"mean"``: the mean over every element (batch and data dimensions): a per-pixel error,
  the reading of 003's lambda = 5 beside a log-loss of order one.

Each method's docstring says which one its paper's constants multiply.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

Reduction = Literal["sum", "mean"]


def _reduce(elementwise: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return elementwise.mean()
    if reduction == "sum":
        return elementwise.flatten(1).sum(1).mean()
    raise ValueError(f"unknown reduction {reduction!r}; accepted: sum, mean")


def squared_l2(x: Tensor, x_hat: Tensor, reduction: Reduction = "sum") -> Tensor:
    """E_x ||x - x_hat||_2^2 (``sum``) or the mean squared error per element (``mean``)."""
    return _reduce((x - x_hat).pow(2), reduction)


def l1(x: Tensor, x_hat: Tensor, reduction: Reduction = "sum") -> Tensor:
    """E_x ||x - x_hat||_1 (``sum``) or the mean absolute error per element (``mean``)."""
    return _reduce((x - x_hat).abs(), reduction)


def per_sample_squared_l2(x: Tensor, x_hat: Tensor) -> Tensor:
    """(N,) squared l2 distance of each sample to its reconstruction."""
    return (x - x_hat).pow(2).flatten(1).sum(1)
