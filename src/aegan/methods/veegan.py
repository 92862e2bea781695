"""VEEGAN (Srivastava, Valkov, Russell, Gutmann, Sutton 2017, "VEEGAN: Reducing mode collapse in
GANs using implicit variational learning", Sec. 3 and Algorithm 1).

Nets: generator G_gamma (z -> x), reconstructor F_theta (x -> z, the data-to-noise map) and a
discriminator D_omega(z, x) on joint pairs. VEEGAN autoencodes the noise, not the data: F must
invert G on generated samples, E ||z - F(G(z))||^2, while D compares the joint distribution
of generator pairs (z, G(z)), z ~ N(0, I), with that of reconstructor pairs (F(x), x), x ~ p(x).

- D (Eq. 9, O_LR): logistic regression with the generator pairs as class 1,
  -E log sigma(D(z, G(z))) - E log(1 - sigma(D(F(x), x))), so that at its optimum
  D(z, x) = log q_gamma(x|z) p0(z) / (p_theta(z|x) p(x)), the log density ratio whose
  expectation is the KL term of the bound O(gamma, theta).
- G and F (Eq. 8, O_hat): (1/N) sum_i D(z_i, x_g^i) + (1/N) sum_i d(z_i, x_g^i), with
  x_g^i = G(z_i) and d(z, x_g) = ||z - F(x_g)||_2^2, the l2 autoencoder of the noise. The
  first term (the estimated KL) reaches G only: D's generator pairs do not contain F, so F
  learns from the reconstruction alone (Algorithm 1: g_theta <- grad_theta (1/N) sum_i
  d(z_i, x_g^i); g_gamma <- grad_gamma O_hat).

Choices: d is the squared l2 distance summed over the latent dimensions, averaged over the
batch, weight 1 (``reconstruction_weight``; the paper adds it to the KL estimate with no
weight). A public TF1 copy of the authors' 2D script (the structure of akashgit/VEEGAN's
VEEGAN_2D_RING notebook) writes the same objective with a unit-variance Gaussian
log-likelihood for the reconstruction, i.e. 1/2 ||z - F(G(z))||^2 (``{name: veegan,
reconstruction_weight: 0.5}`` as a labelled variant), with 254-dimensional noise for the 2D
data, a one-hidden-layer D of 128 units, Adam(1e-3, beta1 0.5) and batch 500; these tables keep
their own latent size (2 on ring8/grid25), nets and batch for every row. The reconstructor is deterministic by default (the paper allows p_theta(z|x) to be a
distribution; its Algorithm 1 samples z_g ~ p_theta(z|x_i), which ``reconstructor_noise`` = s
draws as N(F(x), s^2 I) for D's reconstructor pairs, the authors' 2D code at s = 1): F(x) is the family's encoder,
linear output, as BiGAN's. D(z, x) is BiGAN's joint discriminator
(``aegan.nets.joint.joint_discriminator``: the data D's features for x, an MLP for z, an MLP
head). Algorithm 1 computes the three gradients at the same parameters and then updates all
three nets; here D steps first and G and F then step together against the updated D (the
alternation of every other method here), on the same z and batch. Every other setting (nets,
optimiser, learning rate, batch, steps) is the table's protocol: the objective alone is
VEEGAN's. Logged: ``d_real`` / ``d_fake`` = mean 1 - sigma(D), D's probability that a pair
is a reconstructor (data) pair, on (F(x), x) and on (z, G(z)), so that they read as every
other method's D(x) and D(G(z)).
"""

from __future__ import annotations

import torch
from pydantic import Field

from aegan.losses import adversarial as adv
from aegan.losses import reconstruction as rec
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register
from aegan.nets.joint import joint_discriminator, pair_logits


class VEEGANConfig(MethodConfig):
    """reconstruction_weight: the weight of E ||z - F(G(z))||^2 beside D's KL estimate (1: Eq. 8 adds them).
    reconstructor_noise: std s of p_theta(z|x) = N(F(x), s^2 I), from which D's reconstructor
    pairs draw their codes (Alg. 1: z_g ~ p_theta(z|x); the authors' 2D code: s = 1, with the
    reconstruction read as -log N(z; F(G(z)), I) = 1/2 ||z - F(G(z))||^2 + const); 0: F deterministic."""

    reconstruction_weight: float = Field(1.0, ge=0)
    reconstructor_noise: float = Field(0.0, ge=0)


@register
class VEEGAN(Method):
    name = "veegan"
    summary = "VEEGAN: reconstructor F: x -> z, joint D on (z, G(z)) vs (F(x), x), G and F minimise D + ||z - F(G(z))||^2 (Srivastava et al. 2017)"
    nets = ("generator", "reconstructor", "discriminator")
    data_discriminators = ()  # its discriminator sees (z, x) pairs
    has_generator_phase = False  # G trains jointly with the reconstructor only
    Config = VEEGANConfig

    def build_nets(self, factory):
        d = joint_discriminator(factory, self.latent_dim)  # built first, as BiGAN's (same initial D for a seed)
        return {"generator": factory.generator(), "reconstructor": factory.encoder(), "discriminator": d}

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """O_LR (Eq. 9): generator pairs (z, G(z)) are class 1, reconstructor pairs (F(x), x) class 0."""
        fake = self.fake(nets, batch, scratch)  # G(z), its graph kept for the G/F phase
        with torch.no_grad():
            codes = nets["reconstructor"](batch.x)
            if self.config.reconstructor_noise:  # z_g ~ N(F(x), s^2 I)
                codes = codes + self.config.reconstructor_noise * torch.randn_like(codes)
        gen_logits, rec_logits = pair_logits(nets["discriminator"], (fake.detach(), scratch["z"]), (batch.x, codes))
        log_diagnostics(scratch, d_real=adv.mean_probability(-rec_logits), d_fake=adv.mean_probability(-gen_logits))
        return {"bce": adv.discriminator_bce(gen_logits, rec_logits)}

    def generator_reconstructor_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """O_hat (Eq. 8): mean D(z, G(z)) (the KL estimate) + mean ||z - F(G(z))||^2."""
        fake, z = self.fake(nets, batch, scratch), scratch["z"]
        return {"adversarial": nets["discriminator"](fake, z).mean(),
                "reconstruction": self.config.reconstruction_weight * noise_reconstruction(nets["reconstructor"], z, fake)}

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator_reconstructor", ("generator", "reconstructor"), self.generator_reconstructor_terms),
        )


def noise_reconstruction(reconstructor, z, generated) -> torch.Tensor:
    """E ||z - F(G(z))||_2^2: the squared l2 error of each code, summed over latent dimensions,
    averaged over the batch (``generated`` = G(z))."""
    return rec.squared_l2(z, reconstructor(generated), "sum")
