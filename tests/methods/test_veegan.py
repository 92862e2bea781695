"""VEEGAN (Srivastava et al. 2017): its D loss (Eq. 9) and its G/F objective (Eq. 8) on stub nets
with known outputs, which nets each phase moves, and that F learns from the reconstruction alone."""

import math

import torch
from torch.testing import assert_close

from aegan.methods.base import Batch
from aegan.nets.factory import MLPConfig, MLPFactory
from aegan.nets.joint import JointDiscriminator
from tests.methods._helpers import check_one_step, tiny_trainer
from tests.methods.baseline_helpers import Affine, Spy, method


def _softplus(t: float) -> float:
    return math.log1p(math.exp(t))


def _nets():
    # D(x, z) = sum(x) + sum(z); G(z) = 2 z; F(x) = -x
    return {"generator": Affine(scale=2.0), "reconstructor": Affine(scale=-1.0), "discriminator": Spy()}


def _scratch(z):
    """The step's z and G(z), fixed (``Method.fake`` reuses them)."""
    return {"z": z, "fake": 2.0 * z}


def test_discriminator_loss_on_given_logits():
    """Generator pair (z, G(z)) = ((1, 0), (2, 0)): D = 3, class 1; reconstructor pair
    (F(x), x) = ((0, -1), (0, 1)): D = 0, class 0. O_LR = softplus(-3) + softplus(0)."""
    m, nets = method("veegan"), _nets()
    z, x = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    scratch = _scratch(z)
    terms = m.discriminator_terms(nets, Batch(x), scratch)
    expected = _softplus(-3.0) + _softplus(0.0)  # 0.048587 + 0.693147 = 0.741735
    assert_close(terms["bce"], torch.tensor(expected))
    assert abs(expected - 0.741735) < 1e-6
    xs, zs = nets["discriminator"].calls[-1]
    assert_close(xs, torch.cat([2.0 * z, x]))  # generator pairs first, then reconstructor pairs
    assert_close(zs, torch.cat([z, -x]))
    diag = scratch["diagnostics"]  # 1 - sigma(D): D's probability of a data pair
    assert_close(diag["d_real"], torch.tensor(0.5))
    assert_close(diag["d_fake"], 1 - torch.sigmoid(torch.tensor(3.0)))


def test_a_stochastic_reconstructor_draws_d_s_codes_around_f_x():
    """reconstructor_noise = s: D's reconstructor pairs hold z_g = F(x) + s eps, eps ~ N(0, I)
    (Alg. 1's z_g ~ p_theta(z|x)); the generator pairs and the reconstruction keep F's mean."""
    m, nets = method("veegan", reconstructor_noise=0.5), _nets()
    z, x = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    torch.manual_seed(3)
    eps = torch.randn(2, 2)
    torch.manual_seed(3)
    m.discriminator_terms(nets, Batch(x), _scratch(z))
    _, zs = nets["discriminator"].calls[-1]
    assert_close(zs, torch.cat([z, -x + 0.5 * eps]))
    assert not torch.equal(zs[1:], -x)  # differs from the deterministic F's codes
    deterministic = _nets()
    method("veegan").discriminator_terms(deterministic, Batch(x), _scratch(z))
    assert_close(deterministic["discriminator"].calls[-1][1], torch.cat([z, -x]))


def test_generator_reconstructor_objective_on_given_nets():
    """O_hat = mean D(z, G(z)) + mean ||z - F(G(z))||^2. z = (1, 0), (0, 2):
    D(z, 2z) = 3 sum(z) = 3, 6 -> 4.5; F(G(z)) = -2z, ||3z||^2 = 9, 36 -> 22.5."""
    m, nets = method("veegan"), _nets()
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    terms = m.generator_reconstructor_terms(nets, Batch(torch.zeros(2, 2)), _scratch(z))
    assert_close(terms["adversarial"], torch.tensor(4.5))
    assert_close(terms["reconstruction"], torch.tensor(22.5))
    weighted = method("veegan", reconstruction_weight=0.5).generator_reconstructor_terms(
        nets, Batch(torch.zeros(2, 2)), _scratch(z))
    assert_close(weighted["reconstruction"], torch.tensor(11.25))


def test_reconstructor_learns_from_the_reconstruction_alone():
    """Algorithm 1: g_theta = grad_theta of the reconstruction; D's generator pairs hold no F."""
    m, nets = method("veegan"), _nets()
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    scratch = {"z": z, "fake": nets["generator"](z)}
    terms = m.generator_reconstructor_terms(nets, Batch(torch.zeros(2, 2)), scratch)
    f_scale, g_scale = nets["reconstructor"].scale, nets["generator"].scale
    (from_adv_f,) = torch.autograd.grad(terms["adversarial"], [f_scale], retain_graph=True, allow_unused=True)
    assert from_adv_f is None
    (from_adv_g,) = torch.autograd.grad(terms["adversarial"], [g_scale], retain_graph=True)
    assert from_adv_g.item() != 0
    # ||z - f g z||^2 with f = -1, g = 2: d/df = -2 g ||z||^2 (1 - f g) -> mean over (1, 4): -2*2*2.5*3 = -30
    (from_rec_f,) = torch.autograd.grad(terms["reconstruction"], [f_scale])
    assert_close(from_rec_f, torch.tensor(-30.0))


def test_nets_are_bigans_joint_discriminator_and_an_encoder():
    torch.manual_seed(0)
    nets = method("veegan").build_nets(MLPFactory(MLPConfig(hidden=8), (2,)))
    assert set(nets) == {"generator", "reconstructor", "discriminator"}
    assert isinstance(nets["discriminator"], JointDiscriminator)
    assert nets["reconstructor"](torch.randn(4, 2)).shape == (4, 2)  # data -> latent


def test_each_phase_moves_only_its_nets(tmp_path):
    trainer = tiny_trainer("veegan", tmp_path)
    phases = check_one_step(trainer, "veegan")
    assert [(p.name, set(p.updates)) for p in phases] == [
        ("discriminator", {"discriminator"}), ("generator_reconstructor", {"generator", "reconstructor"})]


def test_no_data_space_discriminator_and_no_generator_only_phase():
    """D sees (z, x) pairs (nothing for train.instance_noise to add noise to) and G trains
    only with F (generator_steps > 1 is refused, as for BiGAN)."""
    cls = type(method("veegan"))
    assert cls.data_discriminators == () and not cls.has_generator_phase


def test_a_batch_norm_joint_d_scores_generator_pairs_alike_in_both_phases(tmp_path):
    """On stacked MNIST's DCGAN D (BN in the x branch) D's phase scored generator and
    reconstructor pairs in one mixed batch while the G/F phase scores generator pairs alone:
    BN normalised them by other statistics (logits ~+15 in D's phase, ~-10 in G's on the same
    pairs, and every seed collapsed). Each set now goes through on its own, in both phases."""
    from aegan.train import Trainer
    from tests.conftest import tiny_config

    model = {"family": "dcgan", "latent_dim": 4, "width": 4, "fc": 0, "layers": 2, "d_batchnorm": True}
    torch.manual_seed(0)
    trainer = Trainer(tiny_config(**{"method.name": "veegan", "data": {"name": "digits"}, "model": model,
                                     "eval": {"metrics": [], "n_samples": 64}}), tmp_path)
    d, m = trainer.nets["discriminator"], trainer.method
    assert d.batch_coupled
    batch = trainer.data.next_batch(16)
    z = torch.randn(16, 4)
    seen = []
    d.register_forward_hook(lambda module, inputs, out: seen.append(out.detach()))
    scratch = {"z": z, "fake": trainer.nets["generator"](z)}
    m.discriminator_terms(trainer.nets, batch, scratch)
    d_phase = seen[0]  # D's phase: generator pairs first
    m.generator_reconstructor_terms(trainer.nets, batch, scratch)
    assert d_phase.shape == seen[-1].shape == (16,), "one pass per set of pairs"
    assert_close(seen[-1], d_phase)  # the same pairs, the same batch statistics, the same logits
