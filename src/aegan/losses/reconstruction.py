"""Reconstruction distances between a batch and its reconstruction.

Per sample, the distance is summed over every data dimension (pixels, coordinates); the
batch value is the mean over samples. This matches the papers' ||x - G(E(x))||^2 (000 Eq.
3, 001 Eq. 1) and ||G(D_F(x)) - x||_1 (003 Eq. 3), which are norms of whole samples.
"""

from __future__ import annotations

from torch import Tensor


def squared_l2(x: Tensor, x_hat: Tensor) -> Tensor:
    """E_x ||x - x_hat||_2^2, summed over data dimensions, averaged over the batch."""
    return (x - x_hat).pow(2).flatten(1).sum(1).mean()


def l1(x: Tensor, x_hat: Tensor) -> Tensor:
    """E_x ||x - x_hat||_1, summed over data dimensions, averaged over the batch."""
    return (x - x_hat).abs().flatten(1).sum(1).mean()


def per_sample_squared_l2(x: Tensor, x_hat: Tensor) -> Tensor:
    """(N,) squared l2 distance of each sample to its reconstruction."""
    return (x - x_hat).pow(2).flatten(1).sum(1)
