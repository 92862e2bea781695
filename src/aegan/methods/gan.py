"""GAN with the minimax (``gan``) and the non-saturating (``nsgan``) generator loss (004; 003 Eq. 1-2)."""

from __future__ import annotations

from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, Method, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class GAN(Method):
    """D minimises BCE on real/fake; G minimises E log(1 - D(G(z))) (saturates when D wins)."""

    name = "gan"
    summary = "GAN, minimax generator loss log(1 - D(G(z))) (Goodfellow et al. 2014)"
    paper = "004"

    def generator_loss(self, fake_logits):
        return adv.generator_minimax(fake_logits)

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        real_logits, fake_logits = discriminate(nets["discriminator"], batch.x, self.fake(nets, batch, scratch).detach())
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits), d_fake=adv.mean_probability(fake_logits))
        return {"bce": adv.discriminator_bce(real_logits, fake_logits)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {"adversarial": self.generator_loss(nets["discriminator"](self.fake(nets, batch, scratch)))}

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator", ("generator",), self.generator_terms),
        )


@register
class NSGAN(GAN):
    """As ``gan`` but G minimises -E log D(G(z)), which keeps gradients when D wins."""

    name = "nsgan"
    summary = "GAN, non-saturating generator loss -log D(G(z)) (003 Eq. 2)"

    def generator_loss(self, fake_logits):
        return adv.generator_nonsaturating(fake_logits)


register(GAN)
