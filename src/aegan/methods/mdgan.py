"""MDGAN: manifold-diffusion training (001 Sec. 3.3, Appendix A), both steps every iteration.

Manifold step (App. A steps 1-3): a batch x; D1 ("discriminator") separates x from
G(E(x)); G minimises ||x - G(E(x))||^2 - lambda log D1(G(E(x))) (step 3: the adversarial
term reaches G only, E(x) is held fixed in it); E minimises the reconstruction alone (the
paper never states E's update; the autoencoder needs one). Diffusion step (steps 4-7): a
new batch (step 4) and z; D2 ("discriminator2") separates G(E(x)) ("real") from G(z)
("fake"; step 6 prints z, a typo: D2 compares the two distributions of Sec. 3.3); G
minimises -log D2(G(z)) (step 7, gradient ascent on log D2(G(z))).
"""

from __future__ import annotations

import torch
from pydantic import NonNegativeFloat

from aegan import regularizers as reg
from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, discriminate, record, register


class MDGANConfig(MethodConfig):
    """Defaults tuned on the 2D mixtures (configs/toy).

    manifold_weight: lambda on -log D1(G(E(x))) next to ||x - G(E(x))||^2 (App. A step 3).
      The paper gives no value for MDGAN: 0.1, chosen on the 2D mixtures.
    distance: squared l2 summed over data dimensions, ||x - G(E(x))||^2 as App. A writes it.
    """

    manifold_weight: NonNegativeFloat = 0.1
    distance: reg.Distance = "squared_l2"


@register
class MDGAN(Method):
    name = "mdgan"
    summary = "MDGAN: manifold step (D1: x vs G(E(x))) + diffusion step (D2: G(E(x)) vs G(z)) (001 App. A)"
    paper = "001"
    nets = ("generator", "encoder", "discriminator", "discriminator2")
    data_discriminators = ("discriminator", "discriminator2")
    Config = MDGANConfig

    def build_nets(self, factory):
        return {"generator": factory.generator(), "encoder": factory.encoder(),
                "discriminator": factory.discriminator(), "discriminator2": factory.discriminator()}

    def manifold_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        scratch["code"], scratch["recon"] = reg.reconstruct(nets, batch.x)
        real, fake = discriminate(nets["discriminator"], batch.x, scratch["recon"].detach())
        record(scratch, d1_real=adv.mean_probability(real), d1_fake=adv.mean_probability(fake))
        return {"bce": adv.discriminator_bce(real, fake)}

    def manifold_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        c = self.config
        recon = scratch["recon"]
        error = reg.reconstruction(batch.x, recon, c.distance)
        record(scratch, recon_error=error)
        recon_for_g = nets["generator"](scratch["code"].detach(), source="encoder")  # step 3: G only
        return {"reconstruction": error,
                "adversarial": c.manifold_weight * adv.generator_nonsaturating(nets["discriminator"](recon_for_g))}

    def diffusion_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """D2: reconstructions of the updated G, E are "real", G(z) is "fake"."""
        with torch.no_grad():
            _, recon = reg.reconstruct(nets, batch.x)
        real, fake = discriminate(nets["discriminator2"], recon, self.fake(nets, batch, scratch).detach())
        record(scratch, d2_real=adv.mean_probability(real), d2_fake=adv.mean_probability(fake))
        return {"bce": adv.discriminator_bce(real, fake)}

    def diffusion_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {"adversarial": adv.generator_nonsaturating(nets["discriminator2"](self.fake(nets, batch, scratch)))}

    def phases(self, step: int):
        return (
            Phase("manifold_discriminator", ("discriminator",), self.manifold_discriminator_terms),
            Phase("manifold", ("generator", "encoder"), self.manifold_terms),
            Phase("diffusion_discriminator", ("discriminator2",), self.diffusion_discriminator_terms, fresh_batch=True),
            Phase("diffusion", ("generator",), self.diffusion_terms),
        )
