"""GAN-RL: NS-GAN whose G reconstructs real data from D's penultimate features (003 Eq. 3-4).

L_X = E_x ||G(D_F(x)) - x||_1, weighted by lambda, is added to both the D loss and the G
loss, so D learns features that G can decode. D_F(x) enters G after its first layer via
``generator.from_hidden(adapter(D.features(x)))``; the adapter (Linear feature_dim ->
hidden_dim + ReLU, ``regularizers.feature_adapter``) is built here and trained with G.
"""

from __future__ import annotations

from pydantic import NonNegativeFloat

from aegan import regularizers as reg
from aegan.methods.base import Batch, MethodConfig, Nets, Phase, Scratch, register
from aegan.methods.gan import NSGAN


class GANRLConfig(MethodConfig):
    """rl_weight: lambda of Eq. 4 (5 in the paper's image experiments; tuned on 2D below).

    The paper updates G twice per D step on images; on 2D we keep one G step per D step,
    like every other method of the benchmark.
    """

    rl_weight: NonNegativeFloat = 5.0


@register
class GANRL(NSGAN):
    name = "gan_rl"
    summary = "GAN-RL: NS-GAN + lambda ||G(D_F(x)) - x||_1 in both D and G losses (003 Eq. 3-4)"
    paper = "003"
    nets = ("generator", "discriminator", "adapter")
    Config = GANRLConfig

    def build_nets(self, factory):
        g, d = factory.generator(), factory.discriminator()
        return {"generator": g, "discriminator": d, "adapter": reg.feature_adapter(d, g)}

    def rl_term(self, nets: Nets, batch: Batch) -> dict:
        return {"rl": self.config.rl_weight * reg.feature_reconstruction(nets, batch.x)}

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {**super().discriminator_terms(nets, batch, scratch), **self.rl_term(nets, batch)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {**super().generator_terms(nets, batch, scratch), **self.rl_term(nets, batch)}

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator", ("generator", "adapter"), self.generator_terms),
        )
