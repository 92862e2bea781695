"""PacGAN (Lin, Khetan, Fanti, Oh 2018, "PacGAN: The power of two samples in generative
adversarial networks", NeurIPS): NS-GAN whose discriminator judges packs of m samples.

Sec. 3 ("packing"): D maps m samples, all real or all generated, to one decision; real packs
are m independent real samples, generated packs G(z_1) .. G(z_m) for independent z_i. The
objective is the GAN's on packs: D minimises -E log D(x_1..x_m) - E log(1 - D(G(z_1)..G(z_m)))
and G the non-saturating -E log D(G(z_1)..G(z_m)), as the authors' code does (their
``PacGAN.compute_losses``: D ``softplus(-real) + softplus(fake)``, G ``softplus(real) +
softplus(-fake)``, whose first term has no gradient in G). Packing itself is the option
``pack`` every method with a discriminator on data samples has (``MethodConfig``;
``aegan.nets.packing``): this row is ``nsgan`` with it on, under its own name.

Defaults: m = 2 (``pack``). Their Table 1 reports PacGAN2, PacGAN3 and PacGAN4 on the 2D ring
and grid (10 trials each): the published rows our tables quote are PacGAN2 on the ring (7.9
modes, 95.6 % high quality) and PacGAN4 on the grid (24.8, 93.6 %), so configs/toy/grid25.yaml
sets ``pack: 4`` and ring8 keeps 2. Their Table 2 (stacked MNIST, VEEGAN's setting) has
PacDCGAN2, 3 and 4 all at 1000 modes (KL 0.06, 0.06, 0.07): the stacked MNIST configs keep
m = 2, the row the tables quote.

Choices (the table's, not the paper's): the nets, optimiser and schedule are the table's
shared ones (their 2D nets are a 4x400 BN generator and a maxout discriminator, Adam 1e-4,
beta1 0.8, 400 epochs; their stacked MNIST nets are DCGAN's, Adam 2e-4, beta1 0.5): D is
the table's D with its first layer m times wider. ``pack_batch: samples`` (default): the
table's ``batch_size`` counts samples, so D sees batch_size / m packs of each kind per step
and the row draws the data and G samples every other row draws; their code's batch counts
packs (100 packs on the 2D mixtures, 64 on stacked MNIST: m times the samples per step),
which ``pack_batch: packs`` reproduces as a labelled variant (``pacgan_packs``).
"""

from __future__ import annotations

from pydantic import Field

from aegan.methods.base import MAX_PACK, MethodConfig, register
from aegan.methods.gan import NSGAN


class PacGANConfig(MethodConfig):
    """pack: m, the samples per pack (Lin et al. Table 1-2: 2, 3, 4); 2 by default, 4 in the
    grid25 config (the m of the published grid row). pack_batch: as ``MethodConfig``."""

    pack: int = Field(2, ge=2, le=MAX_PACK)


@register
class PacGAN(NSGAN):
    name = "pacgan"
    summary = "PacGAN: NS-GAN whose D judges packs of m samples concatenated, m = 2 (Lin et al. 2018)"
    paper = ""  # none of the seed papers; docs/results/toy2d.md's and images.md's tables quote it
    Config = PacGANConfig
