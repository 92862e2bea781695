"""gan_rl and its gradient-penalty combinations: L_X in both losses, gradient into D's features."""

import torch
from torch.testing import assert_close

from aegan import regularizers as reg
from tests.methods._helpers import batch_of, tiny_trainer


def test_rl_gradient_reaches_discriminator_features(tmp_path):
    trainer = tiny_trainer("gan_rl", tmp_path)
    nets, batch = trainer.nets, batch_of(trainer)
    rl = trainer.method.discriminator_terms(nets, batch, {})["rl"]
    feature_params = list(nets["discriminator"].features.parameters())
    grads = torch.autograd.grad(rl, feature_params)
    assert all(g.abs().sum() > 0 for g in grads)


def test_rl_term_closed_form_and_in_both_losses(tmp_path):
    trainer = tiny_trainer("gan_rl", tmp_path, **{"method.rl_weight": 2.0})
    nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
    d, g = nets["discriminator"], nets["generator"]
    x_hat = g.from_hidden(nets["adapter"](d.features(batch.x)))
    expected = 2.0 * (batch.x - x_hat).abs().sum(1).mean()
    scratch = {}
    assert_close(m.discriminator_terms(nets, batch, scratch)["rl"], expected)
    assert_close(m.generator_terms(nets, batch, scratch)["rl"], expected)
    assert [p.updates for p in m.phases(0)] == [("discriminator",), ("generator", "adapter")]
    assert nets["adapter"][0].in_features == d.feature_dim and nets["adapter"][0].out_features == g.hidden_dim


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
    assert_close(reg.gradient_penalty("gp", d, real, fake), expected)
    assert_close(reg.gradient_penalty("dragan", d, real, fake), expected)
