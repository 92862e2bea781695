"""GAN+AE (000 Eq. 3, Algorithm 1 with alpha_L = 1): G is trained adversarially on its
reconstructions H(x) = G(E(x)), which are also D's fake batch, plus lambda L(x, H(x)).
"""

from __future__ import annotations

from typing import Literal

import torch

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from aegan.methods.ae import AE, AEConfig
from aegan.methods.base import Batch, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class GANAEConfig(AEConfig):
    """As ae (lambda = 100 on the l2 norm of each sample's error), plus G's adversarial loss.

    generator_loss: "minimax" is Eq. 3's log(1 - D(H(x))) (Algorithm 1 line 14 with
      alpha_L = 1): the form 000 Sec. 3 / App. A analyse; "nonsaturating" uses -log D(H(x)),
      which keeps its gradient when D wins (not the paper's).
    """

    generator_loss: Literal["minimax", "nonsaturating"] = "minimax"


@register
class GANAE(AE):
    """Per step (000 Algorithm 1 stage 2, alpha_L = 1): line 13 E,G on lambda L (+ latent
    matching); line 14 G on adversarial(D(H(x))) + lambda L; line 15 D on x vs H(x); D_z."""

    name = "gan_ae"
    has_generator_phase = True  # line 14's G step (AE's joint E,G phase is not repeated)
    summary = "GAN+AE: adversarial loss on reconstructions G(E(x)) + lambda * l2 (000 Eq. 3)"
    nets = ("encoder", "generator", "discriminator", "latent_discriminator")
    data_discriminators = ("discriminator",)
    Config = GANAEConfig

    def adversarial(self, fake_logits, scratch: Scratch):
        """G's adversarial term on D(H(x)); alpha_L = 1."""
        if self.config.generator_loss == "minimax":
            return adv.generator_minimax(fake_logits)
        return adv.generator_nonsaturating(fake_logits)

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """Line 14: G only, on its reconstructions of the (already updated) encoder's codes."""
        with torch.no_grad():
            code = nets["encoder"](batch.x)
        recon = nets["generator"](code, source="encoder")
        scratch["recon"] = recon
        return {
            "adversarial": self.adversarial(nets["discriminator"](recon), scratch),
            "reconstruction": self.config.reconstruction_weight * self.config.reconstruction_error(batch.x, recon),
        }

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """Lines 7/15: D separates x from H(x) = G(E(x)) of the nets as lines 6/13-14 left
        them (recomputed after G's update), with alpha_L = 1."""
        with torch.no_grad():
            recon = shared.reconstruct(nets, batch.x)[1]
        real_logits, fake_logits = discriminate(nets["discriminator"], batch.x, recon)
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits), d_fake=adv.mean_probability(fake_logits))
        return {"bce": adv.discriminator_bce(real_logits, fake_logits)}

    def generator_phases(self) -> tuple[Phase, ...]:
        return (Phase("generator", ("generator",), self.generator_terms),)

    def discriminator_phases(self) -> tuple[Phase, ...]:
        return (Phase("discriminator", ("discriminator",), self.discriminator_terms),)

    def phases(self, step: int):
        return self.autoencoder_phases() + self.generator_phases() + self.discriminator_phases() + self.latent_phases()
