"""Minibatch discrimination (Salimans et al. 2016, Sec. 3.2) and a discriminator that uses it.

The layer lets D compare each sample with the rest of its batch, so that a collapsed batch
(all samples alike) is easy to tell from a diverse one.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MinibatchDiscrimination(nn.Module):
    """f (N, A) -> o (N, B): M = f T reshaped to (N, B, C); o_b(x_i) = sum_j exp(-||M_i,b - M_j,b||_1).

    The sum runs over the whole batch, j = i included (the paper's sum over j = 1..n and the
    authors' code), so a batch of n identical samples gives o = n in every kernel. ``T`` is
    initialised N(0, 0.05^2) as in the authors' code (improved-gan, ``MinibatchLayer``).
    """

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5, init_std: float = 0.05):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * init_std)

    def forward(self, f: Tensor) -> Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)  # (B, N, C)
        l1 = torch.cdist(m, m, p=1.0)  # (B, N, N): ||M_i,b - M_j,b||_1
        return torch.exp(-l1).sum(2).t()  # (N, B)


class MinibatchDiscriminator(nn.Module):
    """head(cat(features(x), o(features(x)))): D's features, the minibatch layer, a new head.

    Its output depends on the whole batch, so it is ``batch_coupled``: real and fake
    batches must go through it separately (``methods.base.discriminate`` does that).
    """

    batch_coupled = True

    def __init__(self, features: nn.Module, feature_dim: int, kernels: int = 100, kernel_dim: int = 5):
        super().__init__()
        self.features = features
        self.feature_dim = feature_dim
        self.minibatch = MinibatchDiscrimination(feature_dim, kernels, kernel_dim)
        self.head = nn.Linear(feature_dim + kernels, 1)
        self.out_dim = 1

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x).flatten(1)
        return self.head(torch.cat([f, self.minibatch(f)], dim=1)).squeeze(-1)
