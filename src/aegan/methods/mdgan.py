"""MDGAN: manifold-diffusion training (001 Sec. 3.3, Appendix A), both steps every iteration.

Manifold step (App. A steps 1-3): a batch x; D1 ("discriminator") separates x from
G(E(x)); G minimises ||x - G(E(x))||^2 - lambda log D1(G(E(x))) (step 3: the adversarial
term reaches G only, E(x) is held fixed in it); E minimises the reconstruction alone (the
paper never states E's update; the autoencoder needs one). Diffusion step (steps 4-7): a
new batch (step 4) and z; D2 ("discriminator2") separates G(E(x)) ("real") from G(z)
("fake"; step 6 prints z, a typo: D2 compares the two distributions of Sec. 3.3); G
minimises -log D2(G(z)) (step 7, gradient ascent on log D2(G(z))).

The manifold step is printed three ways, and the default is App. A's:

* App. A step 3 (``weight_on: log_d1``, the default): G ascends "lambda log D1(G(E(x_i))) -
  ||x_i - G(E(x_i))||^2", lambda on log D1. Sec. 3.3 defers to it ("The detailed training
  procedure is given in Appendix A"), it names the net each step updates, and the 004 slides
  copy its G line verbatim ("for generator G: lambda log D1(G(E(x_i))) - ||x_i - G(E(x_i))||^2").
* Sec. 3.3 (``weight_on: distance``): "we optimize G with respect to the regularized GAN loss
  E[log D1(G o E(x)) + lambda d(x, G o E(x))]", lambda on the distance. As printed it has no
  consistent direction (ascent grows d, descent lowers D1(G(E(x)))); with App. A's signs it
  is lambda d - log D1 = lambda (d - (1/lambda) log D1): App. A's objective at lambda' =
  1/lambda, times lambda. At the reciprocal weight (configs: ``mdgan_sec33``, lambda 10
  against the default's 0.1) the two differ only in the size of the manifold step's gradient
  on G against the diffusion step's, which share G's optimiser state.
* The 004 slides' E line (``encoder_loss: manifold``): "for encoder E: E[lambda1 d(x, G o E(x))
  + lambda2 log D(G o E(x))]" (Reg-GAN's E objective carried over; D is D1 here): E minimises
  the manifold step's loss with G, the adversarial term reaching E through G(E(x)), with
  lambda1 : lambda2 the form's weights and the sign of reg_gan's mode term (towards "real").
  App. A and Sec. 3.3 never update E; the default keeps E on the distance alone
  (``encoder_loss: distance``), so the adversarial term is G's alone, as step 3 says.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import NonNegativeFloat

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class MDGANConfig(MethodConfig):
    """Defaults tuned on the 2D mixtures (configs/toy).

    manifold_weight: lambda of the manifold step. The paper gives no value for MDGAN: 0.1,
      chosen on the 2D mixtures, on -log D1 (App. A).
    weight_on: where lambda sits: "log_d1", G minimises d - lambda log D1(G(E(x))) (App. A
      step 3, the default); "distance", lambda d - log D1(G(E(x))) (Sec. 3.3).
    encoder_loss: "distance", E minimises the distance term alone (App. A and Sec. 3.3 never
      update E); "manifold", E minimises G's manifold loss, adversarial term included (the 004
      slides' E line).
    distance: squared l2 summed over data dimensions, ||x - G(E(x))||^2 as App. A writes it.
    """

    manifold_weight: NonNegativeFloat = 0.1
    weight_on: Literal["log_d1", "distance"] = "log_d1"
    encoder_loss: Literal["distance", "manifold"] = "distance"
    distance: shared.Distance = "squared_l2"


def manifold_weights(config: MDGANConfig) -> tuple[float, float]:
    """(weight of d, weight of -log D1(G(E(x)))): (1, lambda) in App. A, (lambda, 1) in Sec. 3.3."""
    if config.weight_on == "log_d1":
        return 1.0, config.manifold_weight
    return config.manifold_weight, 1.0


@register
class MDGAN(Method):
    name = "mdgan"
    summary = "MDGAN: manifold step (D1: x vs G(E(x))) + diffusion step (D2: G(E(x)) vs G(z)) (001 App. A)"
    paper = "001"
    nets = ("generator", "encoder", "discriminator", "discriminator2")
    data_discriminators = ("discriminator", "discriminator2")
    Config = MDGANConfig

    def build_nets(self, factory):
        return {"generator": factory.generator(), "encoder": factory.encoder(),
                "discriminator": factory.discriminator(), "discriminator2": factory.discriminator()}

    def manifold_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        scratch["code"], scratch["recon"] = shared.reconstruct(nets, batch.x)
        real, fake = discriminate(nets["discriminator"], batch.x, scratch["recon"].detach())
        log_diagnostics(scratch, d1_real=adv.mean_probability(real), d1_fake=adv.mean_probability(fake))
        return {"bce": adv.discriminator_bce(real, fake)}

    def manifold_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        c = self.config
        recon = scratch["recon"]
        error = shared.reconstruction(batch.x, recon, c.distance)
        log_diagnostics(scratch, recon_error=error)
        if c.encoder_loss == "manifold":
            judged = recon  # the 004 slides' E line: the adversarial term reaches E too
        else:
            judged = nets["generator"](scratch["code"].detach(), source="encoder")  # step 3: G only
        distance_weight, adversarial_weight = manifold_weights(c)
        return {"reconstruction": distance_weight * error,
                "adversarial": adversarial_weight * adv.generator_nonsaturating(nets["discriminator"](judged))}

    def diffusion_discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        """D2: reconstructions of the updated G, E are "real", G(z) is "fake"."""
        with torch.no_grad():
            _, recon = shared.reconstruct(nets, batch.x)
        real, fake = discriminate(nets["discriminator2"], recon, self.fake(nets, batch, scratch).detach())
        log_diagnostics(scratch, d2_real=adv.mean_probability(real), d2_fake=adv.mean_probability(fake))
        return {"bce": adv.discriminator_bce(real, fake)}

    def diffusion_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {"adversarial": adv.generator_nonsaturating(nets["discriminator2"](self.fake(nets, batch, scratch)))}

    def phases(self, step: int):
        return (
            Phase("manifold_discriminator", ("discriminator",), self.manifold_discriminator_terms),
            Phase("manifold", ("generator", "encoder"), self.manifold_terms),
            Phase("diffusion_discriminator", ("discriminator2",), self.diffusion_discriminator_terms, fresh_batch=True),
            Phase("diffusion", ("generator",), self.diffusion_terms),
        )
