"""A hinge-loss GAN as an aegan plugin: your own method in 30 lines (docs/plugins.md).

    aegan compare configs/toy/ring8.yaml --plugin examples/plugins/my_method.py --methods nsgan,hinge_gan

D minimises E relu(margin - D(x)) + E relu(margin + D(G(z))) on its raw output, G minimises
-E D(G(z)) (Lim & Ye 2017; Miyato et al. 2018). The method never calls backward() or step():
it returns phases of named loss terms, and aegan's loop sums, back-propagates, steps and logs
each term (loss/discriminator/hinge_real, ...).
"""

import torch.nn.functional as F
from pydantic import PositiveFloat

from aegan.methods import Method, MethodConfig, Phase, log_diagnostics, register
from aegan.methods.base import discriminate


class HingeConfig(MethodConfig):  # hyper-parameters: validated, set from a config's method section
    margin: PositiveFloat = 1.0


@register  # the decorator of the built-in methods: the name below now works everywhere
class HingeGAN(Method):
    name = "hinge_gan"
    summary = "GAN with the hinge loss: D relu(m - D(x)) + relu(m + D(G(z))), G -D(G(z)) (Lim & Ye 2017)"
    nets = ("generator", "discriminator")  # built by the run's model family
    Config = HingeConfig

    def discriminator_terms(self, nets, batch, scratch):
        real, fake = discriminate(nets["discriminator"], batch.x, self.fake(nets, batch, scratch).detach())
        log_diagnostics(scratch, d_real=real.mean(), d_fake=fake.mean())  # diagnostics, logged as diag/d_real ...
        m = self.config.margin
        return {"hinge_real": F.relu(m - real).mean(), "hinge_fake": F.relu(m + fake).mean()}

    def generator_terms(self, nets, batch, scratch):
        return {"adversarial": -nets["discriminator"](self.fake(nets, batch, scratch)).mean()}

    def phases(self, step):  # one training step: update D, then G
        return (Phase("discriminator", ("discriminator",), self.discriminator_terms),
                Phase("generator", ("generator",), self.generator_terms))
