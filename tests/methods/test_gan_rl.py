"""gan_rl and its gradient-penalty combinations: L_X in both losses, gradient into D's features."""

import pytest
import torch
from torch.testing import assert_close

from aegan.methods import shared_terms as shared
from aegan.train import Trainer
from tests.methods.test_images_registry import _config as image_config
from tests.methods._helpers import batch_of, tiny_trainer


def test_rl_gradient_reaches_discriminator_features(tmp_path):
    trainer = tiny_trainer("gan_rl", tmp_path)
    nets, batch = trainer.nets, batch_of(trainer)
    rl = trainer.method.discriminator_terms(nets, batch, {})["rl"]
    feature_params = list(nets["discriminator"].features.parameters())
    grads = torch.autograd.grad(rl, feature_params)
    assert all(g.abs().sum() > 0 for g in grads)


def test_rl_term_closed_form_and_in_both_losses(tmp_path):
    """L_X is the per-element mean absolute error (003's lambda = 5 reading), D's features
    enter G's from_hidden unchanged, and the term is in both losses."""
    trainer = tiny_trainer("gan_rl", tmp_path, **{"method.rl_weight": 2.0})
    nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
    d, g = nets["discriminator"], nets["generator"]
    x_hat = g.from_hidden(d.features(batch.x), source="encoder")  # no map between D_F and G
    expected = 2.0 * (batch.x - x_hat).abs().mean()
    scratch = {}
    assert_close(m.discriminator_terms(nets, batch, scratch)["rl"], expected)
    assert_close(m.generator_terms(nets, batch, scratch)["rl"], expected)


def test_defaults_are_the_papers(tmp_path):
    """lambda = 5 on the per-pixel L1; 003's two G updates per D update are the table's
    schedule (``generator_steps`` of every row), not GAN-RL's own: 1 unless a config sets it."""
    m = tiny_trainer("gan_rl", tmp_path).method
    assert (m.config.rl_weight, m.config.reduction, m.config.generator_steps) == (5.0, "mean", 1)


@pytest.mark.parametrize("family", ["dcgan", "conv"])
def test_same_nets_as_nsgan_on_image_nets(family, tmp_path):
    """003 Sec. 6: no change to the network structure -- GAN-RL's parameters are NS-GAN's."""
    def nets(name):
        torch.manual_seed(0)
        return Trainer(image_config(name, family=family), tmp_path / name).nets

    rl, ns = nets("gan_rl"), nets("nsgan")
    assert {k: sum(p.numel() for p in n.parameters()) for k, n in rl.items()} == \
        {k: sum(p.numel() for p in n.parameters()) for k, n in ns.items()}
    d, g = rl["discriminator"], rl["generator"]
    assert d.feature_dim == g.hidden_dim and g.feature_map.linear is None


def test_feature_map_only_where_sizes_differ():
    fm = shared.FeatureMap(8, 8)
    x = torch.randn(3, 8)
    assert fm(x) is x and not list(fm.parameters())
    fm = shared.FeatureMap(8, 5)
    assert fm(x).shape == (3, 5) and fm.linear.in_features == 8


def test_penalty_combinations_compose(tmp_path):
    for name, kind in (("gan_gp_rl", "gp"), ("dragan_rl", "dragan"), ("gan_gp", "gp"), ("dragan", "dragan")):
        trainer = tiny_trainer(name, tmp_path / name)
        nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
        assert m.penalty_kind == kind and m.config.penalty_weight == 10.0
        terms = m.discriminator_terms(nets, batch, {})
        assert set(terms) == ({"bce", "penalty", "rl"} if name.endswith("_rl") else {"bce", "penalty"})
        assert terms["penalty"] > 0


def test_gradient_penalty_dispatch():
    torch.manual_seed(0)
    lin = torch.nn.Linear(2, 1)
    d = lambda x: lin(x).squeeze(-1)  # noqa: E731 - constant gradient: ||w||
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    expected = (lin.weight.norm() - 1) ** 2
    assert_close(shared.gradient_penalty("gp", d, real, fake), expected)
    assert_close(shared.gradient_penalty("dragan", d, real, fake), expected)
