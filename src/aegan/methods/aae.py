"""Adversarial autoencoder (Makhzani et al. 2016, "Adversarial Autoencoders"; 000 App. D).

Three phases per step: E and G (the decoder) minimise the reconstruction error
||x - G(E(x))||^2; a latent discriminator separates prior codes z ~ p(z) (real) from E(x)
(fake); E minimises the non-saturating loss -log D(E(x)) so that the aggregate posterior
matches the prior. Samples are G(z), z ~ p(z).

Choices: deterministic encoder (the paper's simplest variant); squared l2 reconstruction
(as 000 App. D); weights 1; the latent discriminator is the factory's ``latent_mlp``.
"""

from __future__ import annotations

from pydantic import Field

from aegan.losses import adversarial as adv
from aegan.losses import reconstruction as rec
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class AAEConfig(MethodConfig):
    reconstruction_weight: float = Field(1.0, gt=0)
    adversarial_weight: float = Field(1.0, gt=0)


@register
class AAE(Method):
    name = "aae"
    has_generator_phase = False  # G trains jointly with the encoder only
    summary = "Adversarial autoencoder: reconstruction + latent D matching E(x) to the prior (Makhzani et al. 2016)"
    paper = "000"
    nets = ("generator", "encoder", "discriminator")
    data_discriminators = ()  # its discriminator sees codes, not data
    Config = AAEConfig

    def build_nets(self, factory):
        return {"generator": factory.generator(), "encoder": factory.encoder(),
                "discriminator": factory.latent_mlp(self.latent_dim, 1)}

    def reconstruction_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        codes = nets["encoder"](batch.x)
        scratch["codes"] = codes.detach()
        return {"reconstruction": self.config.reconstruction_weight * rec.squared_l2(batch.x, nets["generator"](codes))}

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        codes = scratch["codes"]
        real_logits, fake_logits = discriminate(nets["discriminator"], self.prior(len(batch), batch.x), codes)
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits), d_fake=adv.mean_probability(fake_logits))
        return {"bce": adv.discriminator_bce(real_logits, fake_logits)}

    def regularization_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        logits = nets["discriminator"](nets["encoder"](batch.x))
        return {"adversarial": self.config.adversarial_weight * adv.generator_nonsaturating(logits)}

    def phases(self, step: int):
        return (
            Phase("reconstruction", ("encoder", "generator"), self.reconstruction_terms),
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("regularization", ("encoder",), self.regularization_terms),
        )
