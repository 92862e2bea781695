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


def mmd(x: Tensor, y: Tensor, bandwidths: Sequence[float], eps: float = 1e-12) -> Tensor:
    """sqrt(MMD^2) (biased estimate), the GMMN objective (Li et al. 2015, Eq. 7 takes the root).

    ``eps`` keeps the root's gradient finite when the samples coincide (MMD^2 = 0).
    """
    return mmd2(x, y, bandwidths).clamp_min(eps).sqrt()


def fitted_gaussian_kl(codes: Tensor, eps: float = 1e-8) -> Tensor:
    """KL(N(m, diag s^2) || N(0, I)) for m, s^2 the per-dimension mean and variance of ``codes``.

    AGE's divergence between the encoded batch and the prior (Ulyanov et al. 2018, Sec. 3):
    a Gaussian fitted per latent dimension, KL = sum_j (s_j^2 + m_j^2 - 1 - log s_j^2) / 2.
    The variance is the biased batch variance; ``eps`` floors it.
    """
    codes = codes.flatten(1)
    mean = codes.mean(0)
    var = codes.var(0, unbiased=False).clamp_min(eps)
    return 0.5 * (var + mean.pow(2) - 1.0 - var.log()).sum()
