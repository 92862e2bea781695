"""A discriminator on (x, z) pairs for BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017)
and VEEGAN (Srivastava et al. 2017): ``JointDiscriminator``, built from a family's parts by
``joint_discriminator``; ``pair_logits`` runs it on two sets of pairs in one pass."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class JointDiscriminator(nn.Module):
    """D(x, z) = head(cat(features(x), code(z))): one logit per (x, z) pair.

    ``features`` is a data discriminator's feature extractor (``feature_dim`` wide), ``code``
    maps z to ``code_dim`` features, ``head`` maps the concatenation to a logit.
    """

    def __init__(self, features: nn.Module, feature_dim: int, code: nn.Module, code_dim: int, head: nn.Module,
                 batch_coupled: bool = False):
        super().__init__()
        self.features, self.code, self.head = features, code, head
        self.feature_dim, self.code_dim = feature_dim, code_dim
        self.batch_coupled = batch_coupled  # the x branch keeps batch statistics: one pass per set of pairs

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        h = torch.cat([self.features(x).flatten(1), self.code(z)], dim=1)  # (N, feature_dim + code_dim)
        return self.head(h).reshape(-1)


def joint_discriminator(factory, latent_dim: int) -> JointDiscriminator:
    """D(x, z) from factory parts: the data discriminator's ``features`` for x, a
    ``latent_mlp`` of z to ``feature_dim`` features, and a ``latent_mlp`` head on the
    concatenation (a linear head could not model the interaction between x and z); batch
    coupled where the data discriminator is (``methods.base.discriminate``)."""
    x_part = factory.discriminator()
    width = x_part.feature_dim
    return JointDiscriminator(x_part.features, width, factory.latent_mlp(latent_dim, width), width,
                              factory.latent_mlp(2 * width, 1), getattr(x_part, "batch_coupled", False))


def pair_logits(d: nn.Module, first: tuple[Tensor, Tensor], second: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """D's logits on two batches of (x, z) pairs: in one forward pass, or one pass per batch
    where D keeps batch statistics (``batch_coupled``, as ``methods.base.discriminate``), so a
    BN D normalises each set by its own statistics in every phase that scores it. (VEEGAN's
    G/F phase scores generator pairs alone; with one mixed pass in D's phase, D's BN saw other
    statistics there: logits of ~+15 in D's phase, ~-10 for the same pairs in G's.)"""
    if getattr(d, "batch_coupled", False):
        return d(*first), d(*second)
    x = torch.cat([first[0], second[0]])
    z = torch.cat([first[1], second[1]])
    out = d(x, z)
    return out[: first[0].shape[0]], out[first[0].shape[0]:]
