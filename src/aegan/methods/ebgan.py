"""EBGAN (Zhao, Mathieu, LeCun 2017, "Energy-based Generative Adversarial Network"; 004).

D is an autoencoder and its energy is the reconstruction error D(x) = ||Dec(Enc(x)) - x||^2
(per-sample MSE). D minimises D(x) + max(0, m - D(G(z))) (Eq. 1); G minimises D(G(z)) plus
the pulling-away term on the encoder codes of the generated batch (Eq. 5, EBGAN-PT), weight 0.1.

Choices: energy = MSE averaged over data dimensions (the authors' code); the autoencoder is
the factory's encoder (data -> ``code_dim``) and generator (code -> data) so it has the
same layers as the other methods' nets; m = 1 and ``code_dim`` = 8 for the 2D protocols
(the paper tunes m per dataset, e.g. m = 10-20 for MNIST's 784-dim sums).
"""

from __future__ import annotations

from pydantic import Field, PositiveInt

from aegan.losses import energy
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register
from aegan.nets.autoencoder import AutoencoderDiscriminator


class EBGANConfig(MethodConfig):
    margin: float = Field(1.0, gt=0)  # m
    pt_weight: float = Field(0.1, ge=0)  # 0: plain EBGAN, 0.1: EBGAN-PT (the paper's value)
    code_dim: PositiveInt = 8


def build_autoencoder_discriminator(factory, code_dim: int) -> AutoencoderDiscriminator:
    """Enc: data -> code_dim, Dec: code_dim -> data, from the run's net family."""
    return AutoencoderDiscriminator(factory.encoder(code_dim), factory.generator(code_dim))


@register
class EBGAN(Method):
    name = "ebgan"
    summary = "EBGAN-PT: autoencoder D with MSE energy, margin loss, pulling-away term 0.1 (Zhao et al. 2017)"
    paper = "004"
    Config = EBGANConfig
    data_discriminators = ()  # an autoencoder discriminator: its energy is the reconstruction of its own input

    def build_nets(self, factory):
        return {"generator": factory.generator(), "discriminator": build_autoencoder_discriminator(factory, self.config.code_dim)}

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        d = nets["discriminator"]
        fake = self.fake(nets, batch, scratch).detach()
        real_energy = energy.autoencoder_energy(batch.x, d(batch.x))
        fake_energy = energy.autoencoder_energy(fake, d(fake))
        log_diagnostics(scratch, energy_real=real_energy.mean(), energy_fake=fake_energy.mean())
        return {"margin": energy.ebgan_discriminator(real_energy, fake_energy, self.config.margin)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        d = nets["discriminator"]
        fake = self.fake(nets, batch, scratch)
        codes = d.encode(fake)
        terms = {"energy": energy.autoencoder_energy(fake, d.decoder(codes)).mean()}
        if self.config.pt_weight > 0:
            terms["pulling_away"] = self.config.pt_weight * energy.pulling_away(codes)
        return terms

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator", ("generator",), self.generator_terms),
        )
