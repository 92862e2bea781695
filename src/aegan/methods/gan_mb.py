"""GAN+MB (Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 3.2; 000 Table 1).

NS-GAN whose discriminator has a minibatch-discrimination layer between its features and
its head: T of shape A x B x C maps D's features f(x_i) (A = feature width) to M_i (B x C);
o(x_i)_b = sum_j exp(-||M_i,b - M_j,b||_1) is concatenated with f(x_i) before a new head.

Choices: T ~ N(0, 0.05^2) as in the authors' code; B = 16 kernels of C = 4 dimensions
for the 2D protocol (the authors' code uses B = 100, C = 5 on images; the layer costs
O(N^2 B C) per batch, which at N = 256 made one 2D step ~0.5 s on a CPU core, 20x the rest
of the step; set ``kernels: 100, kernel_dim: 5`` for the paper's setting); the sum includes j = i; real and generated batches go through D separately (the
layer couples a batch), as in the authors' code.
"""

from __future__ import annotations

from pydantic import PositiveInt

from aegan.methods.base import MethodConfig, register
from aegan.methods.gan import NSGAN
from aegan.nets.minibatch import MinibatchDiscriminator


class GANMBConfig(MethodConfig):
    kernels: PositiveInt = 16  # B (paper code: 100)
    kernel_dim: PositiveInt = 4  # C (paper code: 5)


@register
class GANMB(NSGAN):
    name = "gan_mb"
    summary = "GAN+MB: NS-GAN with a minibatch-discrimination layer in D (Salimans et al. 2016)"
    paper = "000"
    Config = GANMBConfig

    def build_nets(self, factory):
        base = factory.discriminator()
        d = MinibatchDiscriminator(base.features, base.feature_dim, self.config.kernels, self.config.kernel_dim)
        return {"generator": factory.generator(), "discriminator": d}
