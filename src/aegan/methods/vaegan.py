"""VAE/GAN (Larsen, Sønderby, Larochelle, Winther 2016, "Autoencoding beyond pixels using a
learned similarity metric", Algorithm 1).

A VAE (Gaussian encoder, the generator as decoder) whose reconstruction likelihood is a
Gaussian on D's features: L_llike = 1/2 ||D_F(x) - D_F(G(z_x))||^2, z_x ~ q(z|x); plus
L_prior = KL(q(z|x) || N(0, I)); D sees x as real and both G(z_x) and G(z), z ~ p(z), as fake.
- E minimises L_prior + L_llike;
- G minimises gamma L_llike + the GAN loss on G(z_x) and G(z);
- D minimises -log D(x) - log(1 - D(G(z_x))) - log(1 - D(G(z))) (D is not trained on L_llike).

Choices: D_F = D's penultimate features (``features``); the non-saturating GAN loss for G
(the paper's Algorithm writes -L_GAN; the authors' code uses the non-saturating form);
gamma = 1 (the paper leaves it open); the three updates share one forward pass as in the
paper: D's fakes are the values G produced before its update.
"""

from __future__ import annotations

import torch
from pydantic import Field

from aegan.losses import adversarial as adv
from aegan.losses import reconstruction as rec
from aegan.losses.divergences import gaussian_kl
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class VAEGANConfig(MethodConfig):
    gamma: float = Field(1.0, ge=0)  # weight of L_llike in G's loss
    kl_weight: float = Field(1.0, ge=0)


@register
class VAEGAN(Method):
    name = "vaegan"
    summary = "VAE/GAN: VAE with reconstruction in D's feature space, KL prior, GAN on G(z) and G(E(x)) (Larsen et al. 2016)"
    paper = "000"
    nets = ("generator", "encoder", "discriminator")
    Config = VAEGANConfig

    def build_nets(self, factory):
        return {"generator": factory.generator(), "encoder": factory.encoder(2 * self.latent_dim),
                "discriminator": factory.discriminator()}

    def feature_likelihood(self, nets: Nets, x, x_tilde):
        """L_llike: Gaussian negative log-likelihood (identity covariance) of D_F(x) given D_F(x~)."""
        d = nets["discriminator"]
        return 0.5 * rec.squared_l2(d.features(x).flatten(1), d.features(x_tilde).flatten(1))

    def encoder_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        mu, logvar = nets["encoder"](batch.x).chunk(2, dim=1)
        z_x = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        scratch["z_x"] = z_x.detach()
        x_tilde = nets["generator"](z_x, source="encoder")
        return {"kl": self.config.kl_weight * gaussian_kl(mu, logvar),
                "feature_reconstruction": self.feature_likelihood(nets, batch.x, x_tilde)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        x_tilde = nets["generator"](scratch["z_x"], source="encoder")
        x_p = self.fake(nets, batch, scratch)
        scratch["x_tilde"] = x_tilde.detach()
        tilde_logits, p_logits = discriminate(nets["discriminator"], x_tilde, x_p)
        return {"feature_reconstruction": self.config.gamma * self.feature_likelihood(nets, batch.x, x_tilde),
                "adversarial_recon": adv.generator_nonsaturating(tilde_logits),
                "adversarial_sample": adv.generator_nonsaturating(p_logits)}

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        d = nets["discriminator"]
        real_logits, tilde_logits = discriminate(d, batch.x, scratch["x_tilde"])
        p_logits = d(scratch["fake"].detach())
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits), d_recon=adv.mean_probability(tilde_logits),
               d_fake=adv.mean_probability(p_logits))
        return {"bce": adv.bce_real(real_logits) + adv.bce_fake(tilde_logits) + adv.bce_fake(p_logits)}

    def phases(self, step: int):
        return (
            Phase("encoder", ("encoder",), self.encoder_terms),
            Phase("generator", ("generator",), self.generator_terms),
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
        )
