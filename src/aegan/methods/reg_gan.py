"""Reg-GAN: mode-regularised GAN (001 Eq. 1-2).

T_G = -E_z log D(G(z)) + E_x[lambda1 d(x, G(E(x))) + lambda2 (-log D(G(E(x))))]
T_E =                    E_x[lambda1 d(x, G(E(x))) + lambda2 (-log D(G(E(x))))]

Sign of the mode term: Eq. 1-2 print "+ lambda2 log D(G(E(x)))", which, minimised, would
push reconstructions towards "fake"; the paper's intent (the mode regulariser makes D's
verdict on G(E(x)) count, so that modes reached by E are kept "real") is the opposite, so we
minimise -lambda2 log D(G(E(x))) (non-saturating form): a gradient step on it raises
D(G(E(x))) (tests/methods/test_reg_gan.py). D is trained as in a vanilla GAN.
"""

from __future__ import annotations

from pydantic import NonNegativeFloat

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register
from aegan.methods.gan import NSGAN


class RegGANConfig(MethodConfig):
    """001's values.

    geometric_weight (lambda1) and mode_weight (lambda2): 0.2 / 0.4, the pair of 001's MNIST
      grid search (Sec. 4.1.1) and image experiments; its 2D mixture (App. C, radius 5, std
      0.1) uses 0.005 / 0.005, which configs/toy sets. The weight multiplies d = ||x -
      G(E(x))||^2 summed over the sample (App. A writes the norm of the whole sample; Sec. 3.1
      "pixel-wise L2 distance"); no number of 001 points to a per-pixel mean. On stacked MNIST
      this makes the geometric gradient on G ~40x the adversarial one: the paper's balance.
    distance: squared l2, the pixel-wise l2 of the paper.
    """

    geometric_weight: NonNegativeFloat = 0.2
    mode_weight: NonNegativeFloat = 0.4
    distance: shared.Distance = "squared_l2"


def mode_regularizer(fake_logits):
    """-E log D(G(E(x))): minimising it moves G(E(x)) towards high D ("real")."""
    return adv.generator_nonsaturating(fake_logits)


@register
class RegGAN(NSGAN):
    """NS-GAN whose G and E also minimise lambda1 d(x, G(E(x))) - lambda2 log D(G(E(x)))."""

    name = "reg_gan"
    has_generator_phase = False  # G trains jointly with the encoder only
    summary = "Reg-GAN: geometric + mode regularisers through an encoder (001 Eq. 1-2)"
    paper = "001"
    nets = ("generator", "discriminator", "encoder")
    Config = RegGANConfig

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        c = self.config
        terms = super().generator_terms(nets, batch, scratch)
        _, recon = shared.reconstruct(nets, batch.x)
        error = shared.reconstruction(batch.x, recon, c.distance)
        log_diagnostics(scratch, recon_error=error)
        terms["geometric"] = c.geometric_weight * error
        terms["mode"] = c.mode_weight * mode_regularizer(nets["discriminator"](recon))
        return terms

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator", ("generator", "encoder"), self.generator_terms),
        )
