"""WGAN (Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1; 004 "Wasserstein GANs").

A critic f without sigmoid maximises E f(x) - E f(G(z)); its weights are clipped to [-c, c]
after every critic update (``Phase.after_step``); ``n_critic`` critic phases, each on a
fresh real batch and fresh z, precede one generator phase, which minimises -E f(G(z)).

Choices: the paper's c = 0.01, n_critic = 5 and RMSprop for both nets. The paper's lr is
5e-5 (image experiments, ~1e5 generator steps); the 2D protocol runs 2,000 steps, where
5e-5 barely moves the nets, so the default here is 5e-4 (``lr``; set 5e-5 for the paper's
image setting). Every critic phase is named "critic", so the log keeps the last one's values.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, PositiveInt

from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class WGANConfig(MethodConfig):
    clip: float = Field(0.01, gt=0)  # c: critic weights lie in [-c, c]
    n_critic: PositiveInt = 5
    optimizer: Literal["adam", "rmsprop", "sgd"] = "rmsprop"
    lr: float = Field(5e-4, gt=0)  # paper: 5e-5; see module docstring
    betas: tuple[float, float] = (0.5, 0.999)  # used only when optimizer is adam


class CriticMethod(Method):
    """n_critic critic phases on fresh batches, then a generator phase; shared by WGAN and WGAN-GP."""

    def optimizer_overrides(self, net: str):
        c = self.config
        return {"optimizer": c.optimizer, "lr": c.lr, "betas": c.betas}

    def fresh_fake(self, nets: Nets, batch: Batch) -> torch.Tensor:
        """G(z) for a fresh z, without graph (a critic phase does not update G)."""
        with torch.no_grad():
            return self.generate(nets, self.prior(len(batch), batch.x))

    def critic_penalty(self, nets: Nets, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    def critic_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        real, fake = batch.x, self.fresh_fake(nets, batch)
        real_scores, fake_scores = discriminate(nets["discriminator"], real, fake)
        log_diagnostics(scratch, d_real=real_scores.mean(), d_fake=fake_scores.mean(),
               wasserstein_estimate=real_scores.mean() - fake_scores.mean())
        return {"wasserstein": adv.wasserstein_critic(real_scores, fake_scores), **self.critic_penalty(nets, real, fake)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {"adversarial": adv.wasserstein_generator(nets["discriminator"](self.fake(nets, batch, scratch)))}

    def critic_after_step(self, nets: Nets) -> None:
        return None

    def phases(self, step: int):
        after = type(self).critic_after_step is not CriticMethod.critic_after_step
        critic = Phase("critic", ("discriminator",), self.critic_terms, fresh_batch=True,
                       after_step=self.critic_after_step if after else None)
        return (*([critic] * self.config.n_critic), Phase("generator", ("generator",), self.generator_terms))


def clip_weights(net: torch.nn.Module, c: float) -> None:
    """Clamp every parameter of ``net`` to [-c, c] in place (call under no_grad)."""
    for p in net.parameters():
        p.clamp_(-c, c)


@register
class WGAN(CriticMethod):
    name = "wgan"
    summary = "WGAN: critic with weight clipping to [-c, c], n_critic=5, RMSprop (Arjovsky et al. 2017)"
    paper = "004"
    Config = WGANConfig

    def critic_after_step(self, nets: Nets) -> None:
        clip_weights(nets["discriminator"], self.config.clip)
