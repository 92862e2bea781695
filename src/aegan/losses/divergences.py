"""Divergences between distributions: the Gaussian KL of a VAE posterior, and MMD."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """E_x KL(N(mu, diag exp(logvar)) || N(0, I)), summed over latent dims, mean over batch."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()


def gaussian_kernel(a: Tensor, b: Tensor, bandwidths: Sequence[float]) -> Tensor:
    """sum_s exp(-||a_i - b_j||^2 / (2 s^2)): (len(a), len(b)) multi-bandwidth Gaussian kernel."""
    sq = torch.cdist(a.flatten(1), b.flatten(1)).pow(2)
    return sum(torch.exp(-sq / (2.0 * s * s)) for s in bandwidths)


def mmd2(x: Tensor, y: Tensor, bandwidths: Sequence[float], unbiased: bool = False) -> Tensor:
    """Squared maximum mean discrepancy between samples x and y (Gretton et al. 2012).

    The biased (V-statistic) estimate is >= 0 and 0 for identical samples; the unbiased
    (U-statistic) estimate drops the diagonal of the within-sample kernels.
    """
    kxx, kyy, kxy = gaussian_kernel(x, x, bandwidths), gaussian_kernel(y, y, bandwidths), gaussian_kernel(x, y, bandwidths)
    if unbiased:
        n, m = x.shape[0], y.shape[0]
        return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
                + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())
    return kxx.mean() + kyy.mean() - 2 * kxy.mean()
