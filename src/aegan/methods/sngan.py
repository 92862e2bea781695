"""SN-GAN (Miyato, Kataoka, Koyama, Yoshida 2018, "Spectral Normalization for Generative
Adversarial Networks", ICLR; quoted by 003 Table 5): NS-GAN with spectral normalisation of
every layer of D.

Each weight W of D is used as W / sigma(W) (their Eq. 8), sigma(W) its largest singular
value estimated by one power iteration per forward pass from the vector u of the previous
one (Algorithm 1); the option ``spectral_norm`` every method with a discriminator on data
samples has (``MethodConfig``; ``aegan.nets.spectral``, torch's own parametrisation). This
row is ``nsgan`` with it on: the GAN objective with G's non-saturating loss -E log D(G(z))
(the authors' SN-DCGAN code, chainer-gan-lib's ``stdgan`` updater: D ``softplus(-y_real) +
softplus(y_fake)``, G ``softplus(-y_fake)``), one D update per G update (n_dis = 1). Their
discriminators hold no batch norm, and neither does this row's (the table's D without its
batch-norm layers, as the gradient-penalty critics; on the MLP nets of the 2D tables, which
have none, the same D).

Optimiser: their Table 1 lists six Adam settings (A-F); their SN-DCGAN code runs setting C
(chainer-gan-lib's example.sh: lr 2e-4, beta1 0.5, beta2 0.999, n_dis 1, batch 64). That
is the stacked MNIST table's shared setting (configs/images/stacked_mnist*.yaml: lr 2e-4,
betas (0.5, 0.999), batch 64), so there the row is the paper's exactly. The 2D tables share
lr 1e-3 (batch 512, linear decay, 10,000 steps) for every row: a setting tuned for CIFAR-10
CNNs over ~100k updates is no fairer a default on 2D MLPs than on the other rows, so the row
keeps the table's optimiser (``lr``/``betas`` None), and the paper's is the labelled variant
``sngan_adam_c`` (``lr: 2.0e-4``) beside it, as ``wgan_gp_lr1e3`` sits beside ``wgan_gp``.
``lr`` and ``betas`` set here apply to G and D alike (the paper's one Adam for both).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from aegan.methods.base import MethodConfig, register
from aegan.methods.gan import NSGAN


class SNGANConfig(MethodConfig):
    """spectral_norm: always on (the row is NS-GAN + SN; ``nsgan`` is the row without).
    lr, betas: Adam's for G and D where set (setting C: 2e-4, (0.5, 0.999)); None keeps the
    table's ``train.lr`` / ``train.betas``, the default (see the module docstring)."""

    omit_when_none: ClassVar[frozenset[str]] = frozenset({"lr", "betas"})

    spectral_norm: Literal[True] = True
    lr: float | None = Field(None, gt=0)
    betas: tuple[float, float] | None = None

    @field_validator("betas")
    @classmethod
    def _betas(cls, v):
        if v is not None and not all(0 <= b < 1 for b in v):
            raise ValueError(f"betas must lie in [0, 1), got {list(v)}")
        return v


@register
class SNGAN(NSGAN):
    name = "sngan"
    summary = "SN-GAN: NS-GAN with spectral normalisation of every layer of D, no batch norm in D (Miyato et al. 2018)"
    paper = "003"
    Config = SNGANConfig

    def optimizer_overrides(self, net: str) -> dict[str, Any]:
        c = self.config
        return {k: v for k, v in (("lr", c.lr), ("betas", c.betas)) if v is not None}
