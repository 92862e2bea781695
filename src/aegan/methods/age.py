"""AGE (Ulyanov, Vedaldi, Lempitsky 2018, "It Takes (Only) Two: Adversarial Generator-Encoder Networks").

No discriminator: the encoder E and the generator G play a game in latent space. With
Delta = KL of a Gaussian fitted per dimension to a batch of codes against the prior N(0, I):
- E maximises Delta(E(G(z))) - Delta(E(x)) and minimises lambda_x ||x - G(E(x))||_1 (data reconstruction);
- G minimises Delta(E(G(z))) + lambda_z ||z - E(G(z))||^2 (latent reconstruction).

Choices: the prior is this library's N(0, I) (the paper prefers the unit sphere; with the 2D
protocol's 2-dim latent the sphere would be a circle); latent reconstruction is squared l2
(the paper's cosine distance belongs to the sphere); lambda_x = 10 and lambda_z = 1000 and
two G steps per E step follow the authors' released configurations (``generator_steps: 2``,
AGE's own default of the setting every method has, so a table giving every row two G steps
gives AGE two, not four); each G step draws a fresh z (phases share no fake) and reads no data,
so the repeated step takes no fresh batch.
"""

from __future__ import annotations

from pydantic import Field, PositiveInt

from aegan.losses import reconstruction as rec
from aegan.losses.divergences import fitted_gaussian_kl
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, log_diagnostics, register


class AGEConfig(MethodConfig):
    data_reconstruction_weight: float = Field(10.0, ge=0)  # lambda_x, E step
    latent_reconstruction_weight: float = Field(1000.0, ge=0)  # lambda_z, G step
    generator_steps: PositiveInt = 2  # the authors' released configurations (MethodConfig's setting)


@register
class AGE(Method):
    name = "age"
    summary = "AGE: generator-encoder game on fitted-Gaussian KL in latent space, with reconstructions (Ulyanov et al. 2018)"
    paper = "000"
    nets = ("generator", "encoder")
    data_discriminators = ()  # no discriminator
    Config = AGEConfig

    def encoder_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        e, g = nets["encoder"], nets["generator"]
        codes = e(batch.x)
        fake_codes = e(self.generate(nets, self.prior(len(batch), batch.x)).detach())
        kl_real, kl_fake = fitted_gaussian_kl(codes), fitted_gaussian_kl(fake_codes)
        log_diagnostics(scratch, kl_real=kl_real, kl_fake=kl_fake)
        return {"kl_real": kl_real, "kl_fake": -kl_fake,
                "reconstruction": self.config.data_reconstruction_weight * rec.l1(batch.x, g(codes, source="encoder"))}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        z = self.prior(len(batch), batch.x)
        fake_codes = nets["encoder"](self.generate(nets, z))
        return {"kl_fake": fitted_gaussian_kl(fake_codes),
                "latent_reconstruction": self.config.latent_reconstruction_weight * rec.squared_l2(z, fake_codes)}

    fresh_batch_per_generator_step = False  # G's step reads no data

    def phases(self, step: int):
        """E, then G (repeated ``generator_steps`` times by ``Method.step_phases``)."""
        return (Phase("encoder", ("encoder",), self.encoder_terms), Phase("generator", ("generator",), self.generator_terms))
