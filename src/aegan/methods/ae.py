"""AE: encoder + generator trained on reconstruction only, alpha_L = 0 (000 Sec. 3, Fig. 6).

A latent discriminator D_z on codes (adversarial-autoencoder style, 000 App. C) makes
E(x) match the prior, so that G(z), z ~ N(0, I), is a generative model.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import NonNegativeFloat, PositiveFloat

from aegan.methods import shared_terms as shared
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register


class AEConfig(MethodConfig):
    """000's settings (App. C, D; Sec. 4: "The parameter lambda = 100 in all experiments").

    distance, reduction: L(x, G(E(x))) = ||x - G(E(x))||_2 per sample, the unsquared l2 norm
      of a whole sample (000 App. D: "The reconstruction error is measured by l2-norm"), the
      one L that lambda, alpha = 0.1 and the stage switch at (1/m) sum L < 1/alpha = 10 all
      multiply (Algorithm 1 lines 8, 12, 14). On images the switch then falls at a per-pixel
      RMS error of 10 / sqrt(D): ~0.21 on 28x84, ~0.36 on 28x28; and lambda L gives G a
      reconstruction gradient of norm lambda per sample whatever the error's size. Labelled
      variants, not the paper's: ``squared_l2`` + ``sum`` (the squared norm, under which
      image errors of 50-100 never reach the switch) and ``squared_l2`` + ``mean`` (the
      per-pixel mean squared error, under which the switch is met before training starts).
    reconstruction_weight: lambda = 100 on L. AE is 000's alpha_L = 0 case (Fig. 6) of the
      same objective, so it takes the same lambda.
    latent_weight: weight of -log D_z(E(x)) in the encoder's loss. The paper does not give
      it (000 App. C only says "an extra discriminator on z"); 1 (AAE's equal weighting).
    prior: p(z) that D_z matches and samples come from. 000 App. C: "We set the prior
      distribution of z as uniform distribution": "uniform" is U[-1, 1]^d with E's codes
      linear; "unit_uniform" is U[0, 1]^d with E's codes through a sigmoid, the support of
      000 Table 3's encoder ("FC, Sigmoid 50"; 000's image configs); "normal" is N(0, I).
    """

    reconstruction_weight: PositiveFloat = 100.0
    latent_weight: NonNegativeFloat = 1.0
    distance: shared.Distance = "l2"
    reduction: Literal["sum", "mean"] = "sum"
    prior: Literal["uniform", "unit_uniform", "normal"] = "uniform"

    def reconstruction_error(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """L of this config: E_x d(x, x_hat) with its distance and reduction."""
        return shared.reconstruction(x, x_hat, self.distance, self.reduction)


@register
class AE(Method):
    """E,G minimise lambda L(x, G(E(x))) + w_z (-log D_z(E(x))); D_z separates N(0, I) from E(x)."""

    name = "ae"
    has_generator_phase = False  # G trains jointly with the encoder only
    summary = "autoencoder with a latent discriminator, alpha_L = 0 (000)"
    paper = "000"
    nets = ("encoder", "generator", "latent_discriminator")
    data_discriminators = ()  # only a latent discriminator
    Config = AEConfig

    def build_nets(self, factory):
        builders = {
            "encoder": lambda: factory.encoder(output="sigmoid" if self.config.prior == "unit_uniform" else "linear"),
            "generator": factory.generator,
            "discriminator": factory.discriminator,
            "latent_discriminator": lambda: factory.latent_mlp(self.latent_dim, 1),
        }
        return {name: builders[name]() for name in self.nets}

    def prior(self, n: int, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U[-1, 1]^d or U[0, 1]^d (000 App. C) or N(0, I), as ``config.prior`` says."""
        if self.config.prior == "normal":
            return super().prior(n, like, generator)
        u = torch.rand(n, self.latent_dim, device=like.device, dtype=like.dtype, generator=generator)
        return u if self.config.prior == "unit_uniform" else 2 * u - 1

    def autoencoder_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """000 Algorithm 1 lines 6/13: E and G on lambda * reconstruction (+ latent matching)."""
        c = self.config
        code, recon = shared.reconstruct(nets, batch.x)
        error = c.reconstruction_error(batch.x, recon)
        scratch.update(code=code, recon=recon, recon_error=error.detach())
        log_diagnostics(scratch, recon_error=error)
        return {
            "reconstruction": c.reconstruction_weight * error,
            "latent": c.latent_weight * shared.latent_matching_loss(nets["latent_discriminator"], code),
        }

    def latent_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        prior = self.prior(len(batch), batch.x)
        return {"bce": shared.latent_discriminator_loss(nets["latent_discriminator"], scratch["code"], prior)}

    def autoencoder_phases(self) -> tuple[Phase, ...]:
        return (Phase("autoencoder", ("encoder", "generator"), self.autoencoder_terms),)

    def latent_phases(self) -> tuple[Phase, ...]:
        return (Phase("latent_discriminator", ("latent_discriminator",), self.latent_discriminator_terms),)

    def phases(self, step: int):
        return self.autoencoder_phases() + self.latent_phases()
