"""A discriminator on (x, z) pairs for BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class JointDiscriminator(nn.Module):
    """D(x, z) = head(cat(features(x), code(z))): one logit per (x, z) pair.

    ``features`` is a data discriminator's feature extractor (``feature_dim`` wide), ``code``
    maps z to ``code_dim`` features, ``head`` maps the concatenation to a logit.
    """

    def __init__(self, features: nn.Module, feature_dim: int, code: nn.Module, code_dim: int, head: nn.Module):
        super().__init__()
        self.features, self.code, self.head = features, code, head
        self.feature_dim, self.code_dim = feature_dim, code_dim

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        h = torch.cat([self.features(x).flatten(1), self.code(z)], dim=1)  # (N, feature_dim + code_dim)
        return self.head(h).reshape(-1)
