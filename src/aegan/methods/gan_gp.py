"""GAN-GP and DRAGAN: NS-GAN with a gradient penalty on D (003 Sec. 6.4).

``GradientPenalty`` is a mixin: put it before any GAN-like method to add
lambda (||grad D||_2 - 1)^2 to that method's discriminator terms, and to build that
method's D without batch norm (``NetFactory.for_method``), so the penalty is per sample.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import NonNegativeFloat

from aegan.methods import shared_terms as shared
from aegan.methods.base import Batch, MethodConfig, Nets, Scratch, register
from aegan.methods.gan import NSGAN


class GradientPenaltyConfig(MethodConfig):
    """penalty_weight: 10, the coefficient of 003 Sec. 6 (and of WGAN-GP / DRAGAN)."""

    penalty_weight: NonNegativeFloat = 10.0


class GradientPenalty:
    """Mixin: adds ``penalty`` = penalty_weight * gradient_penalty(kind) to D's terms.

    D is built without batch norm (``critic_batchnorm``): whatever ``build_nets`` the
    method has further down the MRO (GAN-RL's, ...) gets a factory that builds no BN in D.
    """

    penalty_kind: ClassVar[Literal["gp", "dragan", "r1"]] = "gp"
    penalty_term: ClassVar[str] = "penalty"  # the D term's name in logs and per-term gradients
    critic_batchnorm: ClassVar[bool] = False

    def penalty_scale(self) -> float:
        """What the penalty is multiplied by: lambda (``penalty_weight``)."""
        return self.config.penalty_weight

    def build_nets(self, factory):
        return super().build_nets(factory.for_method(self))

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        terms = super().discriminator_terms(nets, batch, scratch)
        fake = self.fake(nets, batch, scratch)
        terms[self.penalty_term] = self.penalty_scale() * shared.gradient_penalty(
            self.penalty_kind, nets["discriminator"], batch.x, fake)
        return terms


@register
class GANGP(GradientPenalty, NSGAN):
    name = "gan_gp"
    summary = "GAN-GP: NS-GAN + gradient penalty on real/fake interpolates (003 Sec. 6.4)"
    paper = "003"
    Config = GradientPenaltyConfig
    penalty_kind = "gp"


@register
class DRAGAN(GradientPenalty, NSGAN):
    name = "dragan"
    summary = "DRAGAN: NS-GAN + gradient penalty around the data (003 Sec. 6.4)"
    paper = "003"
    Config = GradientPenaltyConfig
    penalty_kind = "dragan"
