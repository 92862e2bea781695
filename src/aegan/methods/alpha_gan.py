"""alpha-GAN (Rosca, Lakshminarayanan, Warde-Farley, Mohamed 2017, "Variational Approaches for
Auto-Encoding Generative Adversarial Networks", Algorithm 1).

Nets: encoder E, generator G, data discriminator D, code discriminator C. Per step:
- D: -log D(x) - log(1 - D(G(E(x)))) - log(1 - D(G(z))) (both reconstructions and samples are fake);
- C: -log C(z) - log(1 - C(E(x)));
- E: lambda ||x - G(E(x))||_1 + [-log C(E(x)) + log(1 - C(E(x)))];
- G: lambda ||x - G(E(x))||_1 + [-log D(G(E(x))) + log(1 - D(G(E(x))))] + [same on G(z)].

Choices: the paper's log-ratio adversarial losses for E and G (``generator_log_ratio``);
deterministic encoder (the paper's); reconstruction weight lambda = 1 (tuned per dataset in
the paper); the paper updates E, G then D, C; here D and C come first in a step (the same
alternation, shifted), so that their fakes are computed once without graph.
"""

from __future__ import annotations

import torch
from pydantic import Field

from aegan.losses import adversarial as adv
from aegan.losses import reconstruction as rec
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class AlphaGANConfig(MethodConfig):
    reconstruction_weight: float = Field(1.0, ge=0)  # lambda


@register
class AlphaGAN(Method):
    name = "alpha_gan"
    summary = "alpha-GAN: encoder, code D, data D (fakes G(z) and G(E(x))), L1 reconstruction (Rosca et al. 2017)"
    paper = "000"
    nets = ("generator", "encoder", "discriminator", "code_discriminator")
    Config = AlphaGANConfig

    def build_nets(self, factory):
        return {"generator": factory.generator(), "encoder": factory.encoder(), "discriminator": factory.discriminator(),
                "code_discriminator": factory.latent_mlp(self.latent_dim, 1)}

    def detached_fakes(self, nets: Nets, batch: Batch, scratch: Scratch):
        """(E(x), G(E(x)), z, G(z)) without graph, for the two discriminator phases; drawn again
        when a repeated G phase (``generator_steps``) dropped the step's z, for its fresh batch."""
        if "z" not in scratch:
            with torch.no_grad():
                codes = nets["encoder"](batch.x)
                z = self.prior(len(batch), batch.x)
                scratch.update(codes=codes, recon=nets["generator"](codes, source="encoder"), z=z, sample=self.generate(nets, z))
        return scratch["codes"], scratch["recon"], scratch["z"], scratch["sample"]

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        _, recon, _, sample = self.detached_fakes(nets, batch, scratch)
        d = nets["discriminator"]
        real_logits, recon_logits = discriminate(d, batch.x, recon)
        sample_logits = d(sample)
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits), d_recon=adv.mean_probability(recon_logits),
               d_fake=adv.mean_probability(sample_logits))
        return {"bce": adv.bce_real(real_logits) + adv.bce_fake(recon_logits) + adv.bce_fake(sample_logits)}

    def code_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        codes, _, z, _ = self.detached_fakes(nets, batch, scratch)
        prior_logits, code_logits = discriminate(nets["code_discriminator"], z, codes)
        return {"bce": adv.discriminator_bce(prior_logits, code_logits)}

    def encoder_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        codes = nets["encoder"](batch.x)
        recon = nets["generator"](codes, source="encoder")
        return {"reconstruction": self.config.reconstruction_weight * rec.l1(batch.x, recon),
                "code_adversarial": adv.generator_log_ratio(nets["code_discriminator"](codes))}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        _, _, z, _ = self.detached_fakes(nets, batch, scratch)
        with torch.no_grad():
            codes = nets["encoder"](batch.x)
        recon = nets["generator"](codes, source="encoder")
        recon_logits, sample_logits = discriminate(nets["discriminator"], recon, self.generate(nets, z))
        return {"reconstruction": self.config.reconstruction_weight * rec.l1(batch.x, recon),
                "adversarial_recon": adv.generator_log_ratio(recon_logits),
                "adversarial_sample": adv.generator_log_ratio(sample_logits)}

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("code_discriminator", ("code_discriminator",), self.code_discriminator_terms),
            Phase("encoder", ("encoder",), self.encoder_terms),
            Phase("generator", ("generator",), self.generator_terms),
        )
