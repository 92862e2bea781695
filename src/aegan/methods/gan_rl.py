"""GAN-RL: NS-GAN whose G reconstructs real data from D's penultimate features (003 Eq. 3-4).

L_X = E_x ||G(D_F(x)) - x||_1 is added, weighted by lambda, to both the D loss (4a) and the
G loss (4b), so D learns features that G can decode. D's flatten output enters G at the
input of its first batch norm, skipping G's first linear layer (003 Fig. 4, Sec. 6: "we do
not make any changes to the network structure"): on every family here D's ``feature_dim``
equals G's ``hidden_dim``, so the nets are NS-GAN's, parameter for parameter
(``shared_terms.attach_feature_map``; a Linear only for nets whose sizes differ).

Per step: one D update, then one G update. 003 Sec. 6 updates "the generator twice for each
discriminator update" for every model of its tables ("Like in AGE and alpha-GAN"; Sec. 6.2
"lambda = 0 represents the model is the original GAN"): that is a table's schedule, not
GAN-RL's, so it is the ``generator_steps`` setting every method has, set to 2 for every row
of 003's configs (``methods: {all: {generator_steps: 2}}``), with 1-step rows beside them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeFloat

from aegan.methods import shared_terms as shared
from aegan.methods.base import Batch, MethodConfig, Nets, Scratch, register
from aegan.methods.gan import NSGAN


class GANRLConfig(MethodConfig):
    """003's defaults.

    rl_weight: lambda of Eq. 4, 5 (003 Sec. 6, the best of {0, 0.5, 1, 5, 10, 20} in Fig. 7).
    reduction: what lambda multiplies. 003 writes ||G(D_F(x)) - x||_1 but sets lambda = 5
      beside the GAN log-loss, which is of order one; on a sum over 3,072 pixels that would
      make G an autoencoder of D's features (measured on stacked MNIST: the reconstruction
      gradient on G ~1000x the adversarial one), on the per-pixel mean the two are of the
      same order, as a tuned weight of 5 implies: "mean" (the mean absolute error per
      element, as the usual L1 loss of the frameworks computes it). "sum" is the literal norm.
    generator_steps: G updates per D update (``MethodConfig``): 1 by default; 003's configs
      set 2 for every row (003 Sec. 6).
    """

    rl_weight: NonNegativeFloat = 5.0
    reduction: Literal["mean", "sum"] = "mean"


@register
class GANRL(NSGAN):
    name = "gan_rl"
    summary = "GAN-RL: NS-GAN + lambda ||G(D_F(x)) - x||_1 in both D and G losses (003 Eq. 3-4)"
    paper = "003"
    Config = GANRLConfig
    pack_refusal = ("G decodes each sample from D's features of that sample (003 Eq. 3), and a packed D has "
                    "features per pack")

    def build_nets(self, factory):
        nets = super().build_nets(factory)
        shared.attach_feature_map(nets["discriminator"], nets["generator"])
        return nets

    def rl_term(self, nets: Nets, batch: Batch) -> dict:
        c = self.config
        return {"rl": c.rl_weight * shared.feature_reconstruction(nets, batch.x, reduction=c.reduction)}

    def discriminator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {**super().discriminator_terms(nets, batch, scratch), **self.rl_term(nets, batch)}

    def generator_terms(self, nets: Nets, batch: Batch, scratch: Scratch):
        return {**super().generator_terms(nets, batch, scratch), **self.rl_term(nets, batch)}

