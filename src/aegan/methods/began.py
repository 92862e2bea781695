"""BEGAN (Berthelot, Schumm, Metz 2017, "BEGAN: Boundary Equilibrium GANs"; 004).

D is an autoencoder with loss L(v) = |v - D(v)| (L1). D minimises L(x) - k_t L(G(z)), G
minimises L(G(z)), and k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) after
each step (Eq. 4); the convergence measure M = L(x) + |gamma L(x) - L(G(z))| is logged.

Choices: L is the mean over data dimensions (the paper's pixel-wise loss); the k update
uses the D phase's L(x) and the G phase's L(G(z)) of the same step; gamma = 0.5,
lambda_k = 0.001, k_0 = 0 (the paper's values); the autoencoder is built like EBGAN's with
``code_dim`` = 8 for the 2D protocols (the paper's images use h = 64). k_t is method state
(a plain float in checkpoints); under data parallelism k_t follows the losses of the
whole (all-rank) batch. Measured on ring8 (10,000 steps): G's samples are reconstructed
worse than gamma L(x) at every step (L(G(z)) ~0.010-0.027 against L(x) ~0.0005-0.015),
so k_t stays 0, D never raises the energy of generated points, and G's loss reduces to
"go where the autoencoder reconstructs best": G collapses to a single point between the
modes (0 modes). A 1-dim bottleneck (``code_dim: 1``) gives a sharp but collapsed G (1
mode, 93% high quality, 1,000 steps). Low-dimensional data is a known weak spot of
autoencoder discriminators; the default is left at 8 so that it matches EBGAN's.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import Field, PositiveInt

from aegan.losses import energy
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register
from aegan.methods.ebgan import build_autoencoder_discriminator


class BEGANConfig(MethodConfig):
    gamma: float = Field(0.5, ge=0, le=1)  # diversity ratio E L(G(z)) / E L(x) at equilibrium
    lambda_k: float = Field(0.001, ge=0)
    k0: float = Field(0.0, ge=0, le=1)
    code_dim: PositiveInt = 8


@register
class BEGAN(Method):
    name = "began"
    summary = "BEGAN: L1 autoencoder D, equilibrium control k_t, gamma=0.5 (Berthelot et al. 2017)"
    paper = "004"
    Config = BEGANConfig
    data_discriminators = ()  # an autoencoder discriminator: its loss is the reconstruction of its own input

    def __init__(self, config, latent_dim):
        super().__init__(config, latent_dim)
        self.k = float(config.k0)
        self._real_loss = None
        self._fake_loss = None

    def build_nets(self, factory):
        return {"generator": factory.generator(), "discriminator": build_autoencoder_discriminator(factory, self.config.code_dim)}

    def loss(self, d, v):
        """L(v), the batch mean of the per-sample L1 reconstruction error."""
        return energy.autoencoder_energy(v, d(v), power=1.0).mean()

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        d = nets["discriminator"]
        real_loss, fake_loss = self.loss(d, batch.x), self.loss(d, self.fake(nets, batch, scratch).detach())
        self._real_loss = real_loss.detach()
        log_diagnostics(scratch, k=self.k, loss_real=real_loss, loss_fake=fake_loss)
        return {"equilibrium": energy.began_discriminator(real_loss, fake_loss, self.k)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        fake_loss = self.loss(nets["discriminator"], self.fake(nets, batch, scratch))
        self._fake_loss = fake_loss.detach()
        if self._real_loss is not None:
            log_diagnostics(scratch, convergence=energy.began_convergence(self._real_loss, self._fake_loss, self.config.gamma))
        return {"reconstruction": fake_loss}

    def update_k(self, nets: Nets) -> None:
        """After G's step: k_{t+1} from this step's L(x) and L(G(z))."""
        if self._real_loss is None or self._fake_loss is None:
            return
        c = self.config
        real, fake = (float(self.batch_mean(v)) for v in (self._real_loss, self._fake_loss))
        self.k = energy.began_k_update(self.k, real, fake, c.gamma, c.lambda_k)
        self._real_loss = self._fake_loss = None

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator", ("generator",), self.generator_terms, after_step=self.update_k),
        )

    def state_dict(self) -> dict[str, Any]:
        return {"k": float(self.k)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.k = float(state.get("k", self.config.k0))
