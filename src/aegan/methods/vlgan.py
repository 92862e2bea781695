"""VLGAN: a VAE step on encoder + generator (the decoder), then k D steps, then a G step
(002 Algorithm 1). The generator and the decoder are the same network.

Per iteration (Algorithm 1): lines 3-7, a batch x and noise eps, E and G minimise the VAE
loss (Eq. 12: reconstruction + beta KL); lines 8-14, k times: fresh z and a fresh batch, D
minimises its BCE; lines 15-18, fresh z, G minimises log(1 - D(G(z))) (line 17, Eq. 3/14:
the minimax loss). D's learning rate is 10x G's and E's (Sec. 4.1: 0.002 vs 0.0002).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from aegan.losses.divergences import gaussian_kl
from aegan.methods.base import Batch, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register
from aegan.methods.gan import NSGAN
from aegan.nets.init import Init


class VLGANConfig(MethodConfig):
    """002's choices; ``beta`` is not given by the paper.

    beta: weight of KL(q(z|x) || N(0, I)) against the reconstruction, the log-likelihood of
      a Gaussian decoder of fixed variance: squared l2 summed over the data dimensions (the
      ELBO's unit; KL is summed over latent dimensions). 002 only says "beta is a
      hyperparameter", so every value is ours. 0.01 here, for the 2D mixtures (with modes of
      std 0.01-0.05 a beta of order one blurs the posterior over several modes);
      configs/toy/grid25.yaml sets 0.05, tuned on seed 0 of its reported row (not held out).
      002's MNIST (configs/stability/vanishing_mnist*.yaml) sets 0.1, chosen on seeds 100-101,
      which no reported table uses, by benchmarks/choose_beta.py
      (docs/results/vlgan_beta_vanishing.md); the CelebA configs keep 0.01, not chosen.
    discriminator_steps: k of Algorithm 1; the paper uses k = 1.
    discriminator_lr_ratio: D's learning rate over ``train.lr`` (G's and E's): 10 (Sec. 4.1).
    generator_loss: "minimax" is line 17, log(1 - D(G(z))) (Eq. 3/14), which saturates when
      D wins; "nonsaturating" is -log D(G(z)).
    init: "model" (default): the nets get the run's ``model.init`` like every other row of
      the table. 002 Sec. 4.1: "The weights of each model were initialized using the Xavier
      method", every model of its experiments, so 002's configs set ``model.init: xavier``
      for all rows. "xavier" or "default" here re-initialise VLGAN's nets alone (a labelled
      variant: the set-up before ``model.init`` existed, when only VLGAN's nets were Xavier).
    """

    beta: NonNegativeFloat = 0.01
    generator_loss: Literal["minimax", "nonsaturating"] = "minimax"
    discriminator_steps: PositiveInt = 1
    discriminator_lr_ratio: PositiveFloat = 10.0
    distance: shared.Distance = "squared_l2"
    init: Literal["model"] | Init = "model"


def reparameterize(stats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encoder output (N, 2 * latent) -> (z = mu + sigma * eps, mu, logvar)."""
    mu, logvar = stats.chunk(2, dim=1)
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp(), mu, logvar


@register
class VLGAN(NSGAN):
    name = "vlgan"
    summary = "VLGAN: VAE step (recon + beta KL) on E and G, then k D steps, then a G step (002 Alg. 1)"
    paper = "002"
    nets = ("generator", "discriminator", "encoder")
    Config = VLGANConfig

    def build_nets(self, factory):
        """G, D and E (2 x latent: mean and log-variance); ``Trainer`` initialises them by
        ``aegan.nets.init.run_init`` (``model.init``, or ``init`` where it names one)."""
        return {"generator": factory.generator(), "discriminator": factory.discriminator(),
                "encoder": factory.encoder(out_dim=2 * self.latent_dim)}

    def lr_scale(self, net: str) -> float:
        return self.config.discriminator_lr_ratio if net == "discriminator" else 1.0

    def generator_loss(self, fake_logits):
        if self.config.generator_loss == "minimax":
            return adv.generator_minimax(fake_logits)
        return super().generator_loss(fake_logits)

    def vae_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        c = self.config
        z, mu, logvar = reparameterize(nets["encoder"](batch.x))
        error = shared.reconstruction(batch.x, nets["generator"](z, source="encoder"), c.distance)
        log_diagnostics(scratch, recon_error=error)
        return {"reconstruction": error, "kl": c.beta * gaussian_kl(mu, logvar)}

    def fresh_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """Lines 9-12: a D step on fresh z (and, by ``fresh_batch``, a fresh batch)."""
        scratch.pop("fake", None)
        return self.discriminator_terms(nets, batch, scratch)

    def fresh_generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """Lines 15-17: the G step on fresh z."""
        scratch.pop("fake", None)
        return self.generator_terms(nets, batch, scratch)

    def phases(self, step: int):
        d_steps = tuple(
            Phase("discriminator" if i == 0 else f"discriminator_{i + 1}", ("discriminator",),
                  self.fresh_discriminator_terms, fresh_batch=True)
            for i in range(self.config.discriminator_steps)
        )
        return (Phase("vae", ("encoder", "generator"), self.vae_terms), *d_steps,
                Phase("generator", ("generator",), self.fresh_generator_terms))
