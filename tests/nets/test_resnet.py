"""The resnet family (003 Table 5: Gulrajani et al.'s CIFAR-10 ResNet): shapes, the layout and
parameter count counted by hand, the roles' contract, and every method trains a step on it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aegan.methods import METHODS
from aegan.nets import FAMILIES, build_factory
from aegan.nets.conv import SourceBatchNorm
from aegan.nets.resnet import DownBlock, OptimizedDownBlock, UpBlock, default_up_blocks
from aegan.methods.shared_terms import attach_feature_map
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods._helpers import check_one_step
from tests.nets.test_paper_nets import bn, conv, count, linear


def _factory(shape, **params):
    return build_factory("resnet", FAMILIES["resnet"][0](**params), shape)


def test_cifar10_resnet_parameters_by_hand():
    """DIM_G = DIM_D = 128, z 128, 3x3 convs, 1x1 shortcuts, every layer with a bias."""
    f = _factory((3, 32, 32))
    g, d = f.generator(), f.discriminator()
    up_block = bn(128) + conv(128, 128, 3) + bn(128) + conv(128, 128, 3) + conv(128, 128, 1)
    assert count(g) == linear(128, 4 * 4 * 128) + 3 * up_block + bn(128) + conv(128, 3, 3) == 1_204_483
    first = conv(3, 128, 3) + conv(128, 128, 3) + conv(3, 128, 1)
    down = conv(128, 128, 3) + conv(128, 128, 3) + conv(128, 128, 1)
    plain = 2 * conv(128, 128, 3)  # identity shortcut
    assert count(d) == first + down + 2 * plain + linear(128, 1) == 1_053_825
    assert [type(b) for b in d.features.blocks] == [OptimizedDownBlock, DownBlock, DownBlock, DownBlock]
    assert [b.down for b in d.features.blocks[1:]] == [True, False, False]
    assert len(g.blocks) == 3 and all(isinstance(b, UpBlock) for b in g.blocks)
    # no normalisation in the critic; LeakyReLU(0.2) (003 footnote 2), ReLU on request
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules()) and not d.batch_coupled
    assert {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)} == {0.2}
    d_relu = _factory((3, 32, 32), d_activation="relu").discriminator()
    assert not any(isinstance(m, nn.LeakyReLU) for m in d_relu.modules()) and count(d_relu) == 1_053_825


def test_feature_maps_through_the_nets():
    f = _factory((3, 32, 32))
    g, d = f.generator(), f.discriminator()
    sizes = []
    hooks = [b.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:]))) for b in g.blocks]
    hooks += [b.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:]))) for b in d.features.blocks]
    x = g(torch.randn(4, 128))
    assert x.shape == (4, 3, 32, 32) and 0 <= x.min() and x.max() <= 1
    assert d(x).shape == (4,)
    for h in hooks:
        h.remove()
    assert d.features(x).shape == (4, 128)
    assert sizes == [(128, 8, 8), (128, 16, 16), (128, 32, 32),  # G: 4 -> 8 -> 16 -> 32
                     (128, 16, 16), (128, 8, 8), (128, 8, 8), (128, 8, 8)]  # D: 32 -> 16 -> 8, 8, 8


def test_critic_batchnorm_on_request_and_never_for_penalties():
    f = _factory((3, 32, 32), d_batchnorm=True)
    d = f.discriminator()
    assert d.batch_coupled
    assert [m.num_features for m in d.modules() if isinstance(m, nn.BatchNorm2d)] == [128] * 6  # 2 per later block
    assert not f.discriminator(batchnorm=False).batch_coupled


@pytest.mark.parametrize("shape, up, down", [((3, 32, 32), 3, 2), ((3, 64, 64), 4, 3), ((1, 28, 28), 2, 1),
                                             ((1, 8, 8), 1, 1), ((1, 28, 84), 2, 1), ((3, 48, 48), 3, 2)])
def test_other_sizes(shape, up, down):
    f = _factory(shape, g_width=8, d_width=8, latent_dim=8)
    assert (f.up_blocks, f.down_blocks) == (up, down) == (default_up_blocks(*shape[1:]), down)
    g, d, e = f.generator(), f.discriminator(), f.encoder(out_dim=6)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, *shape) and d(x).shape == (3,) and e(x).shape == (3, 6)
    assert f.discriminator(out_dim=4)(x).shape == (3, 4)


def test_bad_sizes_are_one_error():
    with pytest.raises(ValueError, match="not divisible by 2\\^up_blocks"):
        _factory((3, 32, 32), up_blocks=6)
    with pytest.raises(ValueError, match="not divisible"):
        _factory((1, 7, 7))
    with pytest.raises(ValueError, match="image data"):
        _factory((2,))


def test_gan_rl_feeds_d_features_into_g_input_without_new_parameters():
    f = _factory((3, 32, 32))
    g, d = f.generator(), f.discriminator()
    before = count(g)
    attach_feature_map(d, g)
    assert count(g) == before and g.feature_map.linear is None  # 128 pooled features = z's 128
    x = torch.rand(2, 3, 32, 32)
    assert g.from_hidden(g.feature_map(d.features(x)), source="encoder").shape == (2, 3, 32, 32)
    # other widths: the one documented linear map
    f2 = _factory((3, 32, 32), d_width=64)
    g2, d2 = f2.generator(), f2.discriminator()
    attach_feature_map(d2, g2)
    assert count(g2.feature_map) == linear(64, 128)


def test_generator_uses_per_source_statistics():
    g = _factory((1, 8, 8), g_width=8, d_width=8, latent_dim=8).generator().train()
    bns = [m for m in g.modules() if isinstance(m, SourceBatchNorm)]
    assert len(bns) == 3  # 2 in the block, 1 before the output conv
    g(torch.randn(16, 8), source="encoder")
    assert all(int(b.batches_encoder) == 1 and int(b.batches_prior) == 0 for b in bns)


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_trains_a_step_on_resnet(name, tmp_path):
    model = {"family": "resnet", "latent_dim": 8, "g_width": 8, "d_width": 8}
    cfg = tiny_config(**{"method.name": name, "data": {"name": "digits"}, "model": model,
                         "eval": {"metrics": [], "n_samples": 64}})
    trainer = Trainer(cfg, tmp_path)
    check_one_step(trainer, name)
    samples = trainer.generate(3, seed=0)
    assert samples.shape == (3, 1, 8, 8) and torch.isfinite(samples).all()
