"""Optimisers, their learning rates (``train.lr_scale``, ``train.lr_decay``) and gradient norms."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

Trainer = Any  # aegan.train.Trainer, which passes itself in (not imported: aegan.train imports this module)


def make_optimizer(params: list[nn.Parameter], settings: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam/RMSprop/SGD with the fastest implementation the build offers (fused, else foreach)."""
    kind, lr = settings["optimizer"], settings["lr"]
    if kind == "adam":
        try:
            return torch.optim.Adam(params, lr=lr, betas=tuple(settings["betas"]), fused=True)
        except (RuntimeError, TypeError):
            return torch.optim.Adam(params, lr=lr, betas=tuple(settings["betas"]), foreach=True)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    return torch.optim.SGD(params, lr=lr, foreach=True)


def optimizer_settings(trainer: Trainer, net: str) -> dict[str, Any]:
    """``train``'s optimiser, the method's overrides for ``net``, ``train.net_optimizers[net]``,
    its lr scaled by ``train.lr_scale[net]`` where the table sets one (for every row), else
    by the method's own ``lr_scale``."""
    train = trainer.config.train
    defaults = {"optimizer": train.optimizer, "lr": train.lr, "betas": train.betas}
    settings = {**defaults, **trainer.method.optimizer_overrides(net)}
    if net in train.net_optimizers:
        settings["optimizer"] = train.net_optimizers[net]
    scale = train.lr_scale[net] if net in train.lr_scale else trainer.method.lr_scale(net)
    return {**settings, "lr": settings["lr"] * scale}


def build_optimizers(trainer: Trainer) -> dict[str, torch.optim.Optimizer]:
    """One optimiser per net with parameters, except the frozen ones (``train.freeze``)."""
    return {name: make_optimizer(list(net.parameters()), optimizer_settings(trainer, name))
            for name, net in trainer.nets.items()
            if any(True for _ in net.parameters()) and name not in trainer.config.train.freeze}


def lr_factor(step: int, steps: int, decay: str, start: float) -> float:
    """The multiplier of the base learning rate at ``step`` (0-based) of ``steps``."""
    if decay == "none":
        return 1.0
    begin = start * steps
    if step < begin:
        return 1.0
    return max(0.0, (steps - step) / max(steps - begin, 1.0))


def apply_lr_schedule(trainer: Trainer) -> None:
    """Set every optimiser's learning rate for ``trainer.step`` (train.lr_decay)."""
    cfg = trainer.config.train
    if cfg.lr_decay == "none":
        return
    factor = lr_factor(trainer.step, cfg.steps, cfg.lr_decay, cfg.lr_decay_start)
    trainer.method.lr_factor = factor  # for methods that mirror an optimiser's rule (unrolled GAN)
    for name, opt in trainer.optimizers.items():
        for group, base in zip(opt.param_groups, trainer.base_lr[name]):
            group["lr"] = base * factor


def norm(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """The L2 norm of a list of tensors taken as one vector, as a 0-d tensor (no host sync)."""
    if not tensors:
        return torch.zeros((), device=device)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(tensors)))


def total_grad_norm(params: list[nn.Parameter], device: torch.device) -> torch.Tensor:
    """||grad||_2 over a net's parameters."""
    return norm([p.grad for p in params if p.grad is not None], device)


def term_grad_norms(terms: dict[str, torch.Tensor], params: list[nn.Parameter],
                    device: torch.device) -> dict[str, torch.Tensor]:
    """``train.grad_per_term``: ||d term / d params||_2 over the phase's nets, for each
    term of a phase with several (e.g. the adversarial vs the reconstruction gradient)."""
    if len(terms) < 2:
        return {}
    out = {}
    for name, term in terms.items():
        grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
        out[f"term/{name}"] = norm([g for g in grads if g is not None], device)
    return out
