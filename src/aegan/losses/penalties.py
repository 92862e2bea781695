"""Gradient penalties on a discriminator/critic ``d`` (a callable x -> (N,) scores).

All return the unweighted penalty; the method multiplies by its lambda. ``create_graph``
is on so that the penalty itself is differentiated into D's parameters. That double
backward runs through the eager module even when ``d`` is a ``torch.compile`` wrapper
(``train.compile``): compiled backward graphs cannot be differentiated again.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _grad_norm_penalty(d, points: Tensor, target: float) -> Tensor:
    d = getattr(d, "_orig_mod", d)  # a torch.compile'd net: its eager module (same parameters)
    points = points.detach().requires_grad_(True)
    scores = d(points)
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - target).pow(2).mean()


def interpolate(real: Tensor, fake: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """x_hat = eps * real + (1 - eps) * fake, eps ~ U[0, 1] per sample."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    return eps * real + (1 - eps) * fake


def interpolate_gradient_penalty(d, real: Tensor, fake: Tensor, target: float = 1.0) -> Tensor:
    """E (||grad D(x_hat)||_2 - 1)^2 on interpolates of real and fake (WGAN-GP; GAN-GP of 003 Sec. 6.4)."""
    return _grad_norm_penalty(d, interpolate(real, fake.detach()), target)


def perturb(real: Tensor, scale: float = 0.5) -> Tensor:
    """DRAGAN's points near the data: x + alpha * (x_p - x), x_p = x + scale * std(x) * U[0, 1)."""
    noisy = real + scale * real.std() * torch.rand_like(real)
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    return real + alpha * (noisy - real)


def dragan_penalty(d, real: Tensor, scale: float = 0.5, target: float = 1.0) -> Tensor:
    """E (||grad D(x_p)||_2 - 1)^2 on perturbed real data (Kodali et al. 2017; 003 Sec. 6.4)."""
    return _grad_norm_penalty(d, perturb(real, scale), target)
