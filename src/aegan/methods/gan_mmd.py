"""GAN+MMD (000 Table 1, "incorporate MMD as loss function"): NS-GAN whose generator also
minimises lambda * sqrt(MMD^2) between the real and the generated batch.

000 gives no details. Choices: the NS-GAN of this library as the GAN part, GMMN's loss and
bandwidths (``gmmn.py``) as the MMD part, lambda = 1 (the two terms have similar scales on
the 2D protocols).
"""

from __future__ import annotations

from pydantic import Field

from aegan.losses.divergences import mmd
from aegan.methods.base import Batch, MethodConfig, Nets, Scratch, register
from aegan.methods.gan import NSGAN
from aegan.methods.gmmn import TOY_BANDWIDTHS


class GANMMDConfig(MethodConfig):
    mmd_weight: float = Field(1.0, ge=0)
    bandwidths: tuple[float, ...] = Field(TOY_BANDWIDTHS, min_length=1)


@register
class GANMMD(NSGAN):
    name = "gan_mmd"
    summary = "GAN+MMD: NS-GAN plus lambda * sqrt(MMD^2)(real, fake) for G (000 Table 1)"
    paper = "000"
    Config = GANMMDConfig

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        terms = super().generator_terms(nets, batch, scratch)
        fake = self.fake(nets, batch, scratch)
        terms["mmd"] = self.config.mmd_weight * mmd(batch.x, fake, self.config.bandwidths)
        return terms
