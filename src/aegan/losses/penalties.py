"""Gradient penalties on a discriminator/critic ``d`` (a callable x -> (N,) scores).

Two families share one helper (``_grad_norm_penalty``): the one-centred penalties
E (||grad D||_2 - 1)^2 of WGAN-GP and DRAGAN, and the zero-centred E ||grad D||_2^2 of
Mescheder et al. 2018 (R1 on real data, R2 on generated data; target 0).

All return the unweighted penalty; the method multiplies by its lambda. ``create_graph``
is on so that the penalty itself is differentiated into D's parameters. That double
backward runs through the eager module even when ``d`` is a ``torch.compile`` wrapper
(``train.compile``): compiled backward graphs cannot be differentiated again.

A packed D (PacGAN, ``aegan.nets.packing``) has one output per pack of m samples, and its
input is the pack: the norm is taken per pack (of the gradient over the pack's m samples
together), and WGAN-GP's interpolates take one eps per pack, so that each packed
interpolate lies on the line between a real pack and a generated one, as the penalty of
Gulrajani et al. asks of the points it samples. Unpacked, both are per sample as before.
"""

from __future__ import annotations

import torch
from torch import Tensor

from aegan.nets.packing import pack_of


def _grad_norm_penalty(d, points: Tensor, target: float) -> Tensor:
    d = getattr(d, "_orig_mod", d)  # a torch.compile'd net: its eager module (same parameters)
    points = points.detach().requires_grad_(True)
    scores = d(points)
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    grad = grad.reshape(scores.shape[0], -1)  # one norm per output of D: per sample, or per pack of m samples
    if target == 0:  # zero-centred: the squared norm itself (its gradient 2g is smooth where g = 0, the norm's is not)
        return grad.pow(2).sum(1).mean()
    return (grad.norm(2, dim=1) - target).pow(2).mean()


def interpolate(real: Tensor, fake: Tensor, generator: torch.Generator | None = None, pack: int = 1) -> Tensor:
    """x_hat = eps * real + (1 - eps) * fake, eps ~ U[0, 1] per sample (per pack of ``pack``
    consecutive samples where D packs them)."""
    shape = (real.shape[0] // pack,) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    if pack > 1:
        eps = eps.repeat_interleave(pack, dim=0)
    return eps * real + (1 - eps) * fake


def interpolate_gradient_penalty(d, real: Tensor, fake: Tensor, target: float = 1.0) -> Tensor:
    """E (||grad D(x_hat)||_2 - 1)^2 on interpolates of real and fake (WGAN-GP; GAN-GP of 003 Sec. 6.4)."""
    return _grad_norm_penalty(d, interpolate(real, fake.detach(), pack=pack_of(d)), target)


def perturb(real: Tensor, scale: float = 0.5) -> Tensor:
    """DRAGAN's points near the data: x + alpha * (x_p - x), x_p = x + scale * std(x) * U[0, 1)."""
    noisy = real + scale * real.std() * torch.rand_like(real)
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    return real + alpha * (noisy - real)


def dragan_penalty(d, real: Tensor, scale: float = 0.5, target: float = 1.0) -> Tensor:
    """E (||grad D(x_p)||_2 - 1)^2 on perturbed real data (Kodali et al. 2017; 003 Sec. 6.4)."""
    return _grad_norm_penalty(d, perturb(real, scale), target)


def zero_centred_penalty(d, points: Tensor) -> Tensor:
    """E ||grad_x D(x)||_2^2 at ``points`` (detached): unweighted, the squared norm summed
    over every data dimension of a sample, averaged over the batch.

    Mescheder, Geiger, Nowozin 2018 ("Which training methods for GANs do actually
    converge?", Sec. 4.1): R1 = gamma/2 E_{p_D} ||grad D(x)||^2 on real data, R2 the same on
    generated data; the method multiplies this by gamma/2. For a linear D(x) = w.x it is
    ||w||^2 at every point.
    """
    return _grad_norm_penalty(d, points, target=0.0)
