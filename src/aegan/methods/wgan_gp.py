"""WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1; 004).

WGAN's critic/generator phases without clipping; the critic loss adds lambda E (||grad f(x_hat)||_2 - 1)^2
on x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample. Choices: the paper's
lambda = 10, n_critic = 5, Adam(lr 1e-4, betas (0, 0.9)) for both nets; these also serve
the 2D protocol (the paper's own toy experiments used lr 1e-4 over 1e5 steps). Measured:
in 2,000 steps on ring8 the samples reach the ring's support but not its 0.01-std modes;
lr 1e-3 did no better in a 1,000-step check (the critic oscillates), so the paper's values stay.
The critic holds no batch norm whatever ``model.d_batchnorm`` says (the paper's Sec. 4: the
penalty is per sample; ``NetFactory.for_method``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from aegan.losses.penalties import interpolate_gradient_penalty
from aegan.methods.base import MethodConfig, register
from aegan.methods.wgan import CriticMethod


class WGANGPConfig(MethodConfig):
    gp_weight: float = Field(10.0, ge=0)  # lambda
    n_critic: PositiveInt = 5
    optimizer: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: float = Field(1e-4, gt=0)
    betas: tuple[float, float] = (0.0, 0.9)


@register
class WGANGP(CriticMethod):
    name = "wgan_gp"
    summary = "WGAN-GP: critic with gradient penalty lambda=10 on interpolates, Adam(0, 0.9) (Gulrajani et al. 2017)"
    paper = "004"
    Config = WGANGPConfig
    critic_batchnorm = False

    def build_nets(self, factory):
        return super().build_nets(factory.for_method(self))

    def critic_penalty(self, nets, real, fake):
        return {"gradient_penalty": self.config.gp_weight * interpolate_gradient_penalty(nets["discriminator"], real, fake)}
