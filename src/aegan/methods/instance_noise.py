"""NS-GAN with instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017; 004 "Noisy Input").

Every input of D, real and generated, in the D phase and in the G phase, gets Gaussian noise
of std sigma_t = sigma_0 * max(0, 1 - t / T) (``aegan.noise``).

Choices: linear annealing (the slides and Sønderby et al. anneal to zero; the schedule's
shape is free); sigma_0 = 0.5, a quarter of the grid spacing and half the ring radius, so
that neighbouring modes overlap under the noise early on; T = 1500 (chosen when the 2D
protocol ran 2,000 steps; at its 10,000 steps the last 85 % train noiseless).
``train.instance_noise`` applies the same schedule to any method's discriminators.
"""

from __future__ import annotations

from pydantic import Field, NonNegativeInt

from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, MethodConfig, Nets, Scratch, discriminate, log_diagnostics, register
from aegan.methods.gan import NSGAN
from aegan.noise import add_instance_noise, linear_anneal


class InstanceNoiseConfig(MethodConfig):
    initial_std: float = Field(0.5, ge=0)
    anneal_steps: NonNegativeInt = 1500


@register
class InstanceNoiseGAN(NSGAN):
    name = "instance_noise"
    summary = "NS-GAN with Gaussian instance noise on D's inputs, std annealed linearly to 0 (Sønderby et al. 2017)"
    paper = "004"
    Config = InstanceNoiseConfig
    data_discriminators = ()  # it adds its own noise (initial_std, anneal_steps)
    sample_discriminators = ("discriminator",)  # a D on data all the same: packing and spectral norm apply

    def __init__(self, config, latent_dim):
        super().__init__(config, latent_dim)
        self.std = config.initial_std

    def noise_std(self, step: int) -> float:
        return linear_anneal(step, self.config.initial_std, self.config.anneal_steps)

    def phases(self, step: int):
        self.std = self.noise_std(step)
        return super().phases(step)

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        real = add_instance_noise(batch.x, self.std)
        fake = add_instance_noise(self.fake(nets, batch, scratch).detach(), self.std)
        real_logits, fake_logits = discriminate(nets["discriminator"], real, fake)
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits), d_fake=adv.mean_probability(fake_logits),
               noise_std=self.std)
        return {"bce": adv.discriminator_bce(real_logits, fake_logits)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        fake = add_instance_noise(self.fake(nets, batch, scratch), self.std)
        return {"adversarial": self.generator_loss(nets["discriminator"](fake))}
