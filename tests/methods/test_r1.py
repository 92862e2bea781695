"""R1 (Mescheder et al. 2018): NS-GAN's D loss + gamma/2 E ||grad_x D(x)||^2 on real data, checked
on a linear D whose input gradient is its weight; the mixin composes with another GAN."""

import torch
from torch.testing import assert_close

from aegan.losses import adversarial as adv
from aegan.methods import METHODS
from aegan.methods.base import Batch
from aegan.methods.gan import NSGAN
from aegan.methods.lsgan import LSGAN
from aegan.methods.r1 import R1Config, R1GAN, R1Penalty
from tests.methods._helpers import check_one_step, tiny_trainer
from tests.methods.baseline_helpers import Affine, Linear, method


def test_r1_term_of_a_linear_discriminator_is_half_gamma_squared_weight_norm():
    """grad_x w.x = w: R1 = gamma/2 ||w||^2 = 10/2 * 25 = 125 at the default gamma = 10."""
    m = method("r1")
    assert m.config.gamma == 10.0
    nets = {"generator": Affine(scale=2.0), "discriminator": Linear([3.0, 4.0])}
    x = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    terms = m.discriminator_terms(nets, Batch(x), {})
    assert_close(terms["r1"], torch.tensor(125.0))
    assert_close(method("r1", gamma=0.5).discriminator_terms(nets, Batch(x), {})["r1"], torch.tensor(6.25))
    assert set(terms) == {"bce", "r1"}


def test_r1_keeps_nsgans_losses():
    """D's BCE and G's -log D(G(z)) are NS-GAN's, on the same logits."""
    m = method("r1")
    nets = {"generator": Affine(scale=2.0), "discriminator": Linear([3.0, 4.0])}
    x, z = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]])
    scratch = {"z": z, "fake": 2.0 * z}  # D(x) = 3, D(G(z)) = 7
    terms = m.discriminator_terms(nets, Batch(x), scratch)
    assert_close(terms["bce"], adv.discriminator_bce(torch.tensor([3.0]), torch.tensor([7.0])))
    g_terms = m.generator_terms(nets, Batch(x), scratch)
    assert_close(g_terms["adversarial"], adv.generator_nonsaturating(torch.tensor([7.0])))


def test_each_phase_moves_only_its_nets_and_d_has_no_batchnorm(tmp_path):
    trainer = tiny_trainer("r1", tmp_path)
    phases = check_one_step(trainer, "r1")
    assert [(p.name, p.updates) for p in phases] == [("discriminator", ("discriminator",)), ("generator", ("generator",))]
    assert not METHODS["r1"].critic_batchnorm and issubclass(R1GAN, NSGAN)


def test_r1_penalty_composes_with_another_gan():
    """The option: R1Penalty before LSGAN adds the same gamma/2 ||w||^2 to LSGAN's D terms."""

    class LSGANR1Config(R1Config, LSGAN.Config):
        pass

    class LSGANR1(R1Penalty, LSGAN):
        name = "lsgan_r1_test"
        Config = LSGANR1Config

    m = LSGANR1(LSGANR1Config(gamma=2.0), latent_dim=2)
    nets = {"generator": Affine(scale=2.0), "discriminator": Linear([3.0, 4.0])}
    terms = m.discriminator_terms(nets, Batch(torch.randn(4, 2)), {})
    assert_close(terms["r1"], torch.tensor(25.0))
    assert len(terms) == 2 and "lsgan_r1_test" not in METHODS
