"""GMMN (Li, Swersky, Zemel 2015, "Generative Moment Matching Networks"; 000 Table 1).

No discriminator: G minimises sqrt(MMD^2(x, G(z))) with a sum of Gaussian kernels of several
bandwidths (the paper's Eq. 7 takes the square root, which it found to train better).

Choices: the biased MMD^2 estimate (>= 0, so the root is defined); bandwidths spread over the
2D protocols' scales (mode std 0.01-0.05 up to the data's extent ~4-8). The paper's
pixel-space bandwidths (2, 5, 10, 20, 40, 80) suit raw MNIST vectors instead.
"""

from __future__ import annotations

from pydantic import Field

from aegan.losses.divergences import mmd
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, register

TOY_BANDWIDTHS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class GMMNConfig(MethodConfig):
    bandwidths: tuple[float, ...] = Field(TOY_BANDWIDTHS, min_length=1)


@register
class GMMN(Method):
    name = "gmmn"
    summary = "GMMN: generator trained by sqrt(MMD^2) with a multi-bandwidth Gaussian kernel (Li et al. 2015)"
    paper = "000"
    nets = ("generator",)
    data_discriminators = ()  # no discriminator
    Config = GMMNConfig

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {"mmd": mmd(batch.x, self.fake(nets, batch, scratch), self.config.bandwidths)}

    def phases(self, step: int):
        return (Phase("generator", ("generator",), self.generator_terms),)
