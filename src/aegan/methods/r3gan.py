"""R3GAN's objective (Huang, Gokaslan, Kuleshov, Tompkin 2024, "The GAN is dead; long live the GAN!
A Modern GAN Baseline", Sec. 2): the relativistic pairing loss with R1 and R2, on aegan's nets.

Only the objective is R3GAN's: the nets are the table's (MLPs on 2D, the DCGAN layout on
stacked MNIST), not their ResNet with grouped convolutions, and so are the optimiser,
learning rate, batch and steps; no EMA of G, no augmentation.

- D: E softplus(D(G(z)) - D(x)) + gamma/2 (R1 + R2), the RpGAN loss L = E f(D(G(z)) - D(x))
  with f = softplus, the i-th real sample paired with the i-th fake; R1 = E ||grad_x D(x)||^2
  on the real batch and R2 = E ||grad_x D(x)||^2 on the generated batch (Mescheder et al.
  2018's zero-centred penalties; R3GAN adds R2 to R1 for its local convergence result).
- G: E softplus(D(x) - D(G(z))), the same pairing with the roles swapped.

Both are the official code's (brownvc/R3GAN, R3GAN/Trainer.py: ``softplus(-(RealLogits -
FakeLogits)) + (Gamma / 2) * (R1Penalty + R2Penalty)`` for D, ``softplus(-(FakeLogits -
RealLogits))`` for G, the penalties ``Gradient.square().sum([1, 2, 3])`` per sample, then the
batch mean), as is drawing a fresh real batch and fresh z for the G phase (its training loop
draws ``G_img``, ``G_z`` apart from ``D_img``, ``D_z``).

Choices: gamma = 0.05, the start value of their CIFAR-10 preset (train.py ``--preset=CIFAR10``:
``gamma_scheduler`` from 0.05 to 0.005), the preset whose images (32x32 RGB in [-1, 1]) are
nearest to stacked MNIST's (28x28x3 in [-1, 1]); their other presets use 0.5 (ImageNet-32),
1 (ImageNet-64), 2 (FFHQ-64) and 150 (FFHQ-256), and none is for 2D data: on ring8 and
grid25 the same 0.05 serves (another gamma is a labelled variant). gamma stays constant: their
cosine decay to gamma/10 spans 2e7 images, and these tables train on 1.3e5 (stacked MNIST
CPU) to 5.1e6 (2D) images, over which the schedule would have moved gamma by 0 % and 14 %.
The penalties are per sample, so D holds no batch norm (``critic_batchnorm``). Logged:
``d_real`` = mean sigmoid(D(x) - D(G(z))), D's probability that the real sample of a pair is
the real one, and ``d_fake`` = 1 - d_real (the relativistic reading of D(x) and D(G(z))).
"""

from __future__ import annotations

import torch
from pydantic import NonNegativeFloat

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from aegan.methods.base import Batch, Method, MethodConfig, Nets, Phase, Scratch, discriminate, log_diagnostics, register


class R3GANConfig(MethodConfig):
    """gamma: 0.05, the start of R3GAN's CIFAR-10 schedule (weight gamma/2 on R1 + R2)."""

    gamma: NonNegativeFloat = 0.05


@register
class R3GAN(Method):
    name = "r3gan"
    summary = "R3GAN's objective on aegan's nets: relativistic pairing loss softplus(D(G(z)) - D(x)) + gamma/2 (R1 + R2), gamma = 0.05 (Huang et al. 2024)"
    Config = R3GANConfig
    critic_batchnorm = False

    def build_nets(self, factory):
        return super().build_nets(factory.for_method(self))

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        d = nets["discriminator"]
        fake = self.sample(nets, batch, graph=False)
        real_logits, fake_logits = discriminate(d, batch.x, fake)
        log_diagnostics(scratch, d_real=adv.mean_probability(real_logits - fake_logits),
               d_fake=adv.mean_probability(fake_logits - real_logits))
        half = 0.5 * self.config.gamma
        return {"relativistic": adv.relativistic_pairing(fake_logits, real_logits),
                "r1": half * shared.gradient_penalty("r1", d, batch.x, fake),
                "r2": half * shared.gradient_penalty("r2", d, batch.x, fake)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        real_logits, fake_logits = discriminate(nets["discriminator"], batch.x, self.sample(nets, batch, graph=True))
        return {"adversarial": adv.relativistic_pairing(real_logits, fake_logits)}

    def sample(self, nets: Nets, batch: Batch, graph: bool) -> torch.Tensor:
        """G(z) for fresh z, one per real sample: each phase draws its own z (and its own
        real batch), as R3GAN's loop does; with the graph into G only for G's phase."""
        with torch.set_grad_enabled(graph):
            return self.generate(nets, self.prior(len(batch), batch.x))

    def phases(self, step: int):
        return (
            Phase("discriminator", ("discriminator",), self.discriminator_terms),
            Phase("generator", ("generator",), self.generator_terms, fresh_batch=True),
        )
