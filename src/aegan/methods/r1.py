"""R1: NS-GAN with the zero-centred gradient penalty on real data (Mescheder, Geiger, Nowozin 2018,
"Which training methods for GANs do actually converge?", Sec. 4.1).

D minimises its GAN loss plus R1(psi) = gamma/2 E_{x ~ p_D} ||grad_x D_psi(x)||^2 (Eq. 9: the
penalty on real data only, centred at zero); G keeps the non-saturating loss -E log D(G(z)),
the "standard" GAN loss of their experiments (LMescheder/GAN_stability,
gan_training/train.py: binary cross-entropy with target 1 for G, ``reg_type: real``).

Choices: gamma = 10, the value of every image experiment they released (GAN_stability
configs/default.yaml: ``reg_type: real``, ``reg_param: 10.``, which the celebAHQ, imagenet
and lsun_* configs inherit), here on every table, 2D included (another gamma is a labelled
variant). The formula is the paper's, gamma/2 times the mean squared gradient norm; their
released code multiplies the mean squared norm by ``reg_param`` itself (gan_training/train.py:
``reg_param * compute_grad2(d_real, x_real).mean()``), i.e. gamma = 20 in the paper's
notation: a variant ``{name: r1, gamma: 20.0}`` reproduces the code. The penalty is per
sample, so D holds no batch norm (``critic_batchnorm``, as gan_gp's).
Everything else (nets, optimiser, lr, batch, steps) is the table's protocol, not their
ResNets and RMSprop: the objective alone is theirs.

``R1Penalty`` is the regulariser as an option: put it before any GAN-like method whose
``discriminator_terms`` scores ``batch.x`` (GAN-RL, LSGAN, ...) to add gamma/2 R1 to its D
terms, with a Config that has ``gamma`` (as ``GradientPenalty`` composes with GAN-RL in
gan_gp_rl.py). The penalty itself is ``shared_terms.gradient_penalty("r1", ...)``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import NonNegativeFloat

from aegan.methods.base import MethodConfig, register
from aegan.methods.gan import NSGAN
from aegan.methods.gan_gp import GradientPenalty


class R1Config(MethodConfig):
    """gamma: 10, Mescheder et al.'s value for all their image experiments (the weight is gamma/2)."""

    gamma: NonNegativeFloat = 10.0


class R1Penalty(GradientPenalty):
    """Mixin: adds ``r1`` = gamma/2 E ||grad_x D(x)||^2 on the real batch to D's terms, and
    builds that method's D without batch norm (``GradientPenalty`` with the zero-centred kind)."""

    penalty_kind: ClassVar[Literal["r1"]] = "r1"
    penalty_term: ClassVar[str] = "r1"

    def penalty_scale(self) -> float:
        """gamma/2 (the paper's R1 = gamma/2 E||grad D(x)||^2)."""
        return 0.5 * self.config.gamma


@register
class R1GAN(R1Penalty, NSGAN):
    name = "r1"
    summary = "R1: NS-GAN + zero-centred gradient penalty gamma/2 E||grad D(x)||^2 on real data, gamma = 10 (Mescheder et al. 2018)"
    paper = ""  # not one of the seed papers (GAN's "004")
    Config = R1Config
