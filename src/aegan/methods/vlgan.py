"""VLGAN: a VAE step on encoder + generator (the decoder), then k D steps, then a G step
(002 Algorithm 1). The generator and the decoder are the same network.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import NonNegativeFloat, PositiveInt

from aegan import regularizers as reg
from aegan.losses import adversarial as adv
from aegan.losses.divergences import gaussian_kl
from aegan.methods.base import Batch, MethodConfig, Nets, Phase, Scratch, record, register
from aegan.methods.gan import NSGAN


class VLGANConfig(MethodConfig):
    """Defaults tuned on the 2D mixtures (configs/toy).

    beta: weight of KL(q(z|x) || N(0, I)) against the squared-l2 reconstruction (a
      Gaussian decoder of fixed variance). Not given for 2D data by the paper; with modes of
      std 0.01-0.05 a beta of order one would blur the posterior over several modes, so a
      small beta is used. Tuned (seed 0, 10k steps, batch 512): ring8 beta 0.01 -> 8 modes,
      high-quality 0.969; grid25 (depth-3 MLP) beta 0.05 -> 25 modes, 0.966 (set in
      configs/toy/grid25.yaml); beta 0.2 on the depth-2 grid -> 25 modes, 0.894.
    discriminator_steps: k of Algorithm 1; the paper uses k = 1.
    generator_loss: the G step's loss. "nonsaturating" (default) is -log D(G(z)) (the labelled
      BCE of line 17 with label "real"), the same generator loss as the other baselines;
      "minimax" is log(1 - D(G(z))), which saturates when D wins: with it the vanishing-gradient
      experiment (002 Fig. 4, benchmarks/stability.py) isolates what the VAE step adds.
    """

    beta: NonNegativeFloat = 0.01
    generator_loss: Literal["minimax", "nonsaturating"] = "nonsaturating"
    discriminator_steps: PositiveInt = 1
    distance: reg.Distance = "squared_l2"


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
        return {"generator": factory.generator(), "discriminator": factory.discriminator(),
                "encoder": factory.encoder(out_dim=2 * self.latent_dim)}

    def generator_loss(self, fake_logits):
        if self.config.generator_loss == "minimax":
            return adv.generator_minimax(fake_logits)
        return super().generator_loss(fake_logits)

    def vae_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        c = self.config
        z, mu, logvar = reparameterize(nets["encoder"](batch.x))
        error = reg.reconstruction(batch.x, nets["generator"](z, source="encoder"), c.distance)
        record(scratch, recon_error=error)
        return {"reconstruction": error, "kl": c.beta * gaussian_kl(mu, logvar)}

    def fresh_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """A D step on fresh z (line 9); the G step then reuses the last D step's G(z)."""
        scratch.pop("fake", None)
        return self.discriminator_terms(nets, batch, scratch)

    def phases(self, step: int):
        d_steps = tuple(
            Phase("discriminator" if i == 0 else f"discriminator_{i + 1}", ("discriminator",),
                  self.fresh_discriminator_terms, fresh_batch=i > 0)
            for i in range(self.config.discriminator_steps)
        )
        return (Phase("vae", ("encoder", "generator"), self.vae_terms), *d_steps,
                Phase("generator", ("generator",), self.generator_terms))
