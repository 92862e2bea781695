"""Adversarial objectives on discriminator logits.

D outputs a logit d; sigmoid(d) is the probability of "real". Every function takes logits
and uses softplus so that it is exact and stable where sigmoid saturates:
    -log sigmoid(d)     = softplus(-d)
    -log(1 - sigmoid(d)) = softplus(d)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def bce_real(logits: Tensor) -> Tensor:
    """Mean -log D(x): binary cross-entropy with target "real"."""
    return F.softplus(-logits).mean()


def bce_fake(logits: Tensor) -> Tensor:
    """Mean -log(1 - D(x)): binary cross-entropy with target "fake"."""
    return F.softplus(logits).mean()


def discriminator_bce(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The GAN discriminator loss -E log D(x) - E log(1 - D(G(z))) (004; 003 Eq. 1)."""
    return bce_real(real_logits) + bce_fake(fake_logits)


def generator_minimax(fake_logits: Tensor) -> Tensor:
    """The original minimax generator loss E log(1 - D(G(z))) (saturates when D wins)."""
    return -bce_fake(fake_logits)


def generator_nonsaturating(fake_logits: Tensor) -> Tensor:
    """The non-saturating generator loss -E log D(G(z)) (003 Eq. 2)."""
    return bce_real(fake_logits)


def least_squares_discriminator(real_logits: Tensor, fake_logits: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """LSGAN discriminator loss 1/2 E (D(x) - b)^2 + 1/2 E (D(G(z)) - a)^2 on raw outputs."""
    return 0.5 * ((real_logits - b) ** 2).mean() + 0.5 * ((fake_logits - a) ** 2).mean()


def least_squares_generator(fake_logits: Tensor, c: float = 1.0) -> Tensor:
    """LSGAN generator loss 1/2 E (D(G(z)) - c)^2 on raw outputs."""
    return 0.5 * ((fake_logits - c) ** 2).mean()


def wasserstein_critic(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """WGAN critic loss E f(G(z)) - E f(x): minimising it maximises the dual estimate."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator(fake_scores: Tensor) -> Tensor:
    """WGAN generator loss -E f(G(z))."""
    return -fake_scores.mean()


def mean_probability(logits: Tensor) -> Tensor:
    """Mean sigmoid(D): the diagnostic "mean D output" on a batch."""
    return torch.sigmoid(logits).mean()


def generator_log_ratio(fake_logits: Tensor) -> Tensor:
    """alpha-GAN's generator loss E[-log D(G(z)) + log(1 - D(G(z)))] = -E d (Rosca et al. 2017, Alg. 1).

    The log of the density ratio D / (1 - D) is the logit itself, so the loss is -mean(logit):
    it neither saturates when D wins (like -log D) nor vanishes when D is fooled.
    """
    return -fake_logits.mean()


def relativistic_pairing(first_logits: Tensor, second_logits: Tensor) -> Tensor:
    """The relativistic pairing loss E softplus(d_1 - d_2) = -E log sigmoid(d_2 - d_1), the i-th
    sample of one batch paired with the i-th of the other (RpGAN; Huang et al. 2024, "The GAN
    is dead; long live the GAN!", Sec. 2, with f = softplus).

    D minimises it with (fake, real): E softplus(D(G(z)) - D(x)), it wins by ranking each real
    sample above its fake partner; G minimises it with (real, fake): E softplus(D(x) - D(G(z)))
    (brownvc/R3GAN, R3GAN/Trainer.py: softplus(-(D(x) - D(G(z)))) for D and
    softplus(-(D(G(z)) - D(x))) for G). Only differences of logits enter, so adding a constant
    to D changes nothing. Both batches must have the same size.
    """
    if first_logits.shape != second_logits.shape:
        raise ValueError(f"relativistic pairing needs batches of one size, got {tuple(first_logits.shape)} "
                         f"and {tuple(second_logits.shape)}")
    return F.softplus(first_logits - second_logits).mean()
