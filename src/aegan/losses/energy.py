"""Losses of autoencoder discriminators: EBGAN (Zhao et al. 2017) and BEGAN (Berthelot et al. 2017).

Both discriminators are autoencoders whose per-sample reconstruction error is an "energy":
low on real data, high on generated data.
"""

from __future__ import annotations

from torch import Tensor


def autoencoder_energy(x: Tensor, x_hat: Tensor, power: float = 2.0) -> Tensor:
    """(N,) per-sample mean over data dimensions of |x - x_hat|^power.

    power 2: EBGAN's MSE energy; power 1: BEGAN's L1 loss L(v) = |v - D(v)| (pixel-wise mean).
    """
    return (x - x_hat).abs().pow(power).flatten(1).mean(1)


def ebgan_discriminator(real_energy: Tensor, fake_energy: Tensor, margin: float) -> Tensor:
    """EBGAN's D loss E D(x) + E max(0, m - D(G(z))) (Zhao et al. 2017, Eq. 1)."""
    return real_energy.mean() + (margin - fake_energy).clamp_min(0).mean()


def pulling_away(codes: Tensor, eps: float = 1e-8) -> Tensor:
    """EBGAN's pulling-away term 1/(N(N-1)) sum_{i != j} cos(S_i, S_j)^2 on a batch of codes (Eq. 5).

    0 for mutually orthogonal codes, 1 for a batch of identical (collapsed) codes.
    """
    s = codes.flatten(1)
    s = s / s.norm(dim=1, keepdim=True).clamp_min(eps)
    n = s.shape[0]
    cos2 = (s @ s.t()).pow(2)
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def began_discriminator(real_loss: Tensor, fake_loss: Tensor, k: float | Tensor) -> Tensor:
    """BEGAN's D loss L(x) - k_t L(G(z)) on batch-mean reconstruction losses (Berthelot et al. 2017, Eq. 4)."""
    return real_loss - k * fake_loss


def began_k_update(k: float, real_loss: float, fake_loss: float, gamma: float, lambda_k: float) -> float:
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) (BEGAN Eq. 4)."""
    return float(min(max(k + lambda_k * (gamma * real_loss - fake_loss), 0.0), 1.0))


def began_convergence(real_loss: Tensor, fake_loss: Tensor, gamma: float) -> Tensor:
    """BEGAN's convergence measure M = L(x) + |gamma L(x) - L(G(z))| (Sec. 3.4.1)."""
    return real_loss + (gamma * real_loss - fake_loss).abs()

