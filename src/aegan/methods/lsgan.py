"""LSGAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks"; 000 Table 1).

D minimises 1/2 E (D(x) - b)^2 + 1/2 E (D(G(z)) - a)^2, G minimises 1/2 E (D(G(z)) - c)^2,
on D's raw (linear) output. Choices: a = 0, b = 1, c = 1 (the paper's 0-1 coding, Eq. 9);
the paper's a = -1, b = 1, c = 0 coding (Eq. 8) is a config away.
"""

from __future__ import annotations

from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, MethodConfig, Nets, Scratch, discriminate, log_diagnostics, register
from aegan.methods.gan import GAN


class LSGANConfig(MethodConfig):
    a: float = 0.0  # D's target for generated samples
    b: float = 1.0  # D's target for real samples
    c: float = 1.0  # the value G wants D to output on its samples


@register
class LSGAN(GAN):
    """GAN's two phases with least-squares losses on D's linear output."""

    name = "lsgan"
    summary = "LSGAN: least-squares D and G losses, a=0, b=1, c=1 (Mao et al. 2017)"
    paper = "000"
    Config = LSGANConfig

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        c = self.config
        real, fake = discriminate(nets["discriminator"], batch.x, self.fake(nets, batch, scratch).detach())
        log_diagnostics(scratch, d_real=real.mean(), d_fake=fake.mean())
        return {"least_squares": adv.least_squares_discriminator(real, fake, c.a, c.b)}

    def generator_loss(self, fake_logits):
        return adv.least_squares_generator(fake_logits, self.config.c)
