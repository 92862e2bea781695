"""Unrolled GAN (Metz, Poole, Pfau, Sohl-Dickstein 2017, "Unrolled Generative Adversarial
Networks"; 000 Table 1 "GAN+UR").

D's phase is a normal GAN discriminator step. G's phase minimises the GAN value at the
discriminator after k more steps of D's optimiser, f(theta_G, theta_D^k(theta_G)), with the
k steps taken functionally (``torch.func.functional_call``) and differentiated through
(create_graph), so G anticipates how D will react (the paper's Eq. 5-7).

Choices:
- the unrolled copies use Adam, the rule of the real D update, as in the paper; they start
  from the real optimiser's moment estimates, which this method shadows: after every D
  step (``after_step``) it applies the same Adam moment update to the gradients D just
  received. Adam's lr and betas for D are this method's ``lr``/``betas`` and are imposed
  on the real D optimiser too (``optimizer_overrides``) so the two rules cannot differ;
  under ``train.lr_decay`` the unrolled steps use the decayed rate of the real D step
  (``lr_factor``). Without that (a bug before this was fixed) the look-ahead assumed an
  undecayed D while the real D slowed down, and on ring8 a run that covered all 8 modes at
  step 6,000 collapsed once the decay had advanced (10,000 steps: 1 mode);
- every unrolled step uses the same real batch and the same z as the generator loss (the
  authors' 2D notebook does this);
- G's loss is the paper's minimax value f = E log D_k(x) + E log(1 - D_k(G(z))) (as
  ``generator_loss: minimax``; its real-data term depends on theta_G through theta_D^k);
  ``nonsaturating`` uses -E log D_k(G(z)) instead;
- k = 5 for the 2D protocol (the paper uses 5-10 on its mixture); k = 0 is exactly the
  minimax (or NS) GAN's generator gradient.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

import torch
from pydantic import Field, NonNegativeInt
from torch import Tensor
from torch.func import functional_call

from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, MethodConfig, Nets, Phase, Scratch, register, split_real_fake
from aegan.methods.gan import GAN


class UnrolledConfig(MethodConfig):
    unroll_steps: NonNegativeInt = 5  # k
    generator_loss: Literal["minimax", "nonsaturating"] = "minimax"
    lr: float = Field(1e-3, gt=0)  # D's Adam, real and unrolled
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = Field(1e-8, gt=0)


def adam_step(params: dict[str, Tensor], grads: list[Tensor], m: list[Tensor], v: list[Tensor], t: int,
              lr: float, betas: tuple[float, float], eps: float) -> tuple[dict[str, Tensor], list[Tensor], list[Tensor]]:
    """One differentiable Adam step (the update of torch.optim.Adam) at step count ``t`` >= 1."""
    b1, b2 = betas
    new_params, new_m, new_v = {}, [], []
    for (name, p), g, mi, vi in zip(params.items(), grads, m, v):
        mi = b1 * mi + (1 - b1) * g
        vi = b2 * vi + (1 - b2) * g * g
        m_hat, v_hat = mi / (1 - b1**t), vi / (1 - b2**t)
        # clamp_min keeps the root's gradient finite where a gradient is exactly 0
        new_params[name] = p - lr * m_hat / (v_hat.clamp_min(1e-30).sqrt() + eps)
        new_m.append(mi)
        new_v.append(vi)
    return new_params, new_m, new_v


@register
class UnrolledGAN(GAN):
    name = "unrolled"
    summary = "Unrolled GAN: G's loss through k differentiable Adam steps of D (Metz et al. 2017)"
    paper = "000"
    Config = UnrolledConfig

    def __init__(self, config, latent_dim):
        super().__init__(config, latent_dim)
        self._t = 0
        self._m: list[Tensor] = []
        self._v: list[Tensor] = []

    def optimizer_overrides(self, net: str):
        if net == "discriminator":
            return {"optimizer": "adam", "lr": self.config.lr, "betas": self.config.betas}
        return {}

    # -- the shadow of D's Adam moments ---------------------------------------------------
    def track_moments(self, nets: Nets) -> None:
        """After D's real step (no_grad): the same moment update Adam just applied."""
        b1, b2 = self.config.betas
        params = list(nets["discriminator"].parameters())
        if not self._m:
            self._m = [torch.zeros_like(p) for p in params]
            self._v = [torch.zeros_like(p) for p in params]
        for p, m, v in zip(params, self._m, self._v):
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
        self._t += 1

    def state_dict(self) -> dict[str, Any]:
        return {"t": self._t, "m": [m.clone() for m in self._m], "v": [v.clone() for v in self._v]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._t = int(state.get("t", 0))
        self._m = [m.clone() for m in state.get("m", [])]
        self._v = [v.clone() for v in state.get("v", [])]

    # -- the unrolled generator loss ------------------------------------------------------
    def unrolled_logits(self, d: torch.nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """D's logits on real and fake after ``unroll_steps`` differentiable Adam steps.

        D's parameters are unrolled as one flat vector (views of it are D's parameters for
        ``functional_call``): each look-ahead step is one gradient and one Adam update of
        ~15 element-wise ops, not 15 per parameter tensor, and the backward through the k
        steps has as many fewer nodes. Adam is element-wise, so the values are those of the
        per-tensor update.
        """
        c = self.config
        d = getattr(d, "_orig_mod", d)  # a torch.compile'd D (train.compile): the look-ahead differentiates twice, eagerly
        names, tensors = zip(*d.named_parameters())
        sizes, shapes = [p.numel() for p in tensors], [p.shape for p in tensors]
        flat = torch.cat([p.reshape(-1) for p in tensors])  # differentiable: a function of D's parameters

        def moments(saved: list[Tensor]) -> list[Tensor]:
            return [torch.cat([t.to(p).reshape(-1) for t, p in zip(saved, tensors)]) if saved else torch.zeros_like(flat)]

        m, v = moments(self._m), moments(self._v)
        coupled = getattr(d, "batch_coupled", False)
        both = None if coupled else torch.cat([real, fake])

        def logits(flat_params: Tensor) -> tuple[Tensor, Tensor]:
            ps = {name: piece.view(shape) for name, piece, shape in zip(names, flat_params.split(sizes), shapes)}
            if coupled:
                return functional_call(d, ps, (real,)), functional_call(d, ps, (fake,))
            return split_real_fake(d, functional_call(d, ps, (both,)), real.shape[0])

        for j in range(c.unroll_steps):
            loss = adv.discriminator_bce(*logits(flat))
            (grad,) = torch.autograd.grad(loss, flat, create_graph=True)
            stepped, m, v = adam_step({"flat": flat}, [grad], m, v, self._t + j + 1, c.lr * self.lr_factor, c.betas, c.eps)
            flat = stepped["flat"]
        return logits(flat)

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        real_logits, fake_logits = self.unrolled_logits(nets["discriminator"], batch.x, self.fake(nets, batch, scratch))
        if self.config.generator_loss == "minimax":
            return {"unrolled_minimax": -adv.discriminator_bce(real_logits, fake_logits)}
        return {"unrolled_nonsaturating": adv.generator_nonsaturating(fake_logits)}

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms, after_step=self.track_moments),
            Phase("generator", ("generator",), self.generator_terms),
        )
