"""The MLP family on images (001 Table 1's MNIST grid): flattened input, G's output reshaped
and in [0, 1], G's and D's sizes set apart, dropout in D; per-net optimisers."""

import pytest
import torch

from aegan.config import ConfigError
from aegan.nets.factory import MLPConfig, MLPFactory
from aegan.train import Trainer
from tests.conftest import tiny_config


def test_mlp_nets_take_and_make_images_with_their_own_sizes():
    factory = MLPFactory(MLPConfig(latent_dim=5, hidden=8, depth=2, g_hidden=12, g_depth=3, d_hidden=6, d_depth=1,
                                   d_dropout=0.5), (1, 8, 8))
    g, d, e = factory.generator(), factory.discriminator(), factory.encoder()
    x = g(torch.randn(4, 5))
    assert x.shape == (4, 1, 8, 8) and 0 <= x.min() and x.max() <= 1  # sigmoid on images
    assert d(x).shape == (4,) and e(x).shape == (4, 5)
    assert [m.out_features for m in g.modules() if isinstance(m, torch.nn.Linear)] == [12, 12, 12, 64]
    assert [m.out_features for m in d.modules() if isinstance(m, torch.nn.Linear)] == [6, 1]
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in d.modules()) == 1
    assert [m.out_features for m in e.modules() if isinstance(m, torch.nn.Linear)] == [8, 8, 5]


def test_mlp_on_points_keeps_its_linear_output_and_parameter_names():
    g = MLPFactory(MLPConfig(latent_dim=2, hidden=8, depth=2), (2,)).generator()
    assert g(torch.full((3, 2), 50.0)).abs().max() > 1  # no squashing on 2D data
    assert sorted(g.state_dict()) == ["body.0.0.bias", "body.0.0.weight", "body.1.bias", "body.1.weight",
                                      "entry.0.bias", "entry.0.weight"]  # old checkpoints still load


def test_net_optimizers_pick_each_nets_optimiser(tmp_path):
    cfg = tiny_config(**{"train.net_optimizers": {"generator": "sgd"}})
    trainer = Trainer(cfg, tmp_path)
    assert isinstance(trainer.optimizers["generator"], torch.optim.SGD)
    assert isinstance(trainer.optimizers["discriminator"], torch.optim.Adam)
    with pytest.raises(ConfigError, match="train.net_optimizers.critic: method 'nsgan' has no net 'critic'"):
        tiny_config(**{"train.net_optimizers": {"critic": "sgd"}})
