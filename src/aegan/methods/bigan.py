"""BiGAN / ALI (Donahue, Krähenbühl, Darrell 2017, "Adversarial Feature Learning"; Dumoulin et
al. 2017, "Adversarially Learned Inference").

A joint discriminator D(x, z) separates encoder pairs (x, E(x)) (real) from generator pairs
(G(z), z) (fake); G and E are trained together with the labels swapped (the non-saturating
form the BiGAN paper uses in practice): -log(1 - D(x, E(x))) - log D(G(z), z).

Choices: deterministic encoder (BiGAN; ALI's stochastic encoder is not used); the joint D is
built from factory parts: the data discriminator's ``features`` for x, a ``latent_mlp`` of
z to ``feature_dim`` features, and a ``latent_mlp`` head on the concatenation (a linear head
could not model the interaction between x and z).
"""

from __future__ import annotations

from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register
from aegan.nets.joint import joint_discriminator, pair_logits


@register
class BiGAN(Method):
    name = "bigan"
    has_generator_phase = False  # G trains jointly with the encoder only
    summary = "BiGAN/ALI: joint discriminator on (x, E(x)) vs (G(z), z) (Donahue et al. 2017)"
    paper = "000"
    nets = ("generator", "encoder", "discriminator")
    data_discriminators = ()  # its discriminator sees (x, z) pairs
    Config = MethodConfig

    def build_nets(self, factory):
        d = joint_discriminator(factory, self.latent_dim)
        return {"generator": factory.generator(), "encoder": factory.encoder(), "discriminator": d}

    def pairs(self, nets: Nets, batch: Batch, scratch: Scratch):
        """((x, E(x)), (G(z), z)): the real and the fake pair, with graph into E and G."""
        z = self.prior(len(batch), batch.x)
        return (batch.x, nets["encoder"](batch.x)), (self.generate(nets, z), z)

    def joint_logits(self, d, real_pair, fake_pair):
        return pair_logits(d, real_pair, fake_pair)

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        real_pair, fake_pair = self.pairs(nets, batch, scratch)
        scratch["pairs"] = (real_pair, fake_pair)
        detached = tuple(tuple(t.detach() for t in pair) for pair in (real_pair, fake_pair))
        real_logits, fake_logits = self.joint_logits(nets["discriminator"], *detached)
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits), d_fake=adv.mean_probability(fake_logits))
        return {"bce": adv.discriminator_bce(real_logits, fake_logits)}

    def generator_encoder_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        real_pair, fake_pair = scratch["pairs"]
        real_logits, fake_logits = self.joint_logits(nets["discriminator"], real_pair, fake_pair)
        return {"adversarial": adv.bce_fake(real_logits) + adv.bce_real(fake_logits)}

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator_encoder", ("generator", "encoder"), self.generator_encoder_terms),
        )
