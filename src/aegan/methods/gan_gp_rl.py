"""GAN-GP-RL and DRAGAN-RL: GAN-RL with a gradient penalty on D (003 Table 6)."""

from __future__ import annotations

from aegan.methods.base import register
from aegan.methods.gan_gp import GradientPenalty, GradientPenaltyConfig
from aegan.methods.gan_rl import GANRL, GANRLConfig


class GradientPenaltyRLConfig(GANRLConfig, GradientPenaltyConfig):
    """rl_weight as gan_rl, penalty_weight as gan_gp."""


@register
class GANGPRL(GradientPenalty, GANRL):
    name = "gan_gp_rl"
    summary = "GAN-GP-RL: GAN-RL + interpolate gradient penalty (003 Table 6)"
    Config = GradientPenaltyRLConfig
    penalty_kind = "gp"


@register
class DRAGANRL(GradientPenalty, GANRL):
    name = "dragan_rl"
    summary = "DRAGAN-RL: GAN-RL + DRAGAN gradient penalty (003 Table 6)"
    Config = GradientPenaltyRLConfig
    penalty_kind = "dragan"
