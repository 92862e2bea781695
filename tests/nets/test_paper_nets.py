"""The papers' conv nets on 3-channel images, layer by layer and parameter by parameter
(docs/nets.md): 003 Fig. 4's DCGAN at 32x32, the 64x64 DCGAN, 000 Table 3 at 32x32."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aegan.nets import FAMILIES, build_factory
from aegan.nets.conv import SourceBatchNorm
from aegan.methods.shared_terms import attach_feature_map


def _factory(family, shape, **params):
    return build_factory(family, FAMILIES[family][0](**params), shape)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv(cin, cout, k=5):  # weights + biases of a k x k conv / deconv
    return cin * cout * k * k + cout


def linear(n_in, n_out):
    return n_in * n_out + n_out


def bn(n):  # scale and offset (running statistics are buffers)
    return 2 * n


def _layers(net, kind):
    return [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in net.modules() if isinstance(m, kind)]


def test_dcgan_32x32_is_003_fig4():
    """gan_cifar.py at DIM = 64: G 128 -> 4x4x256 -> 8x8x128 -> 16x16x64 -> 32x32x3 (5x5 deconvs),
    D 32x32x3 -> 16x16x64 -> 8x8x128 -> 4x4x256 -> 1 (5x5/2 convs, BN after conv 2 and 3)."""
    f = _factory("dcgan", (3, 32, 32))
    g, d = f.generator(), f.discriminator()
    assert f.config.latent_dim == 128
    assert _layers(d, nn.Conv2d) == [(3, 64, (5, 5), (2, 2)), (64, 128, (5, 5), (2, 2)), (128, 256, (5, 5), (2, 2))]
    assert _layers(g, nn.ConvTranspose2d) == [(256, 128, (5, 5), (2, 2)), (128, 64, (5, 5), (2, 2)),
                                              (64, 3, (5, 5), (2, 2))]
    assert [m.num_features for m in d.modules() if isinstance(m, nn.BatchNorm2d)] == [128, 256]
    assert [m.num_features for m in g.modules() if isinstance(m, SourceBatchNorm)] == [4096, 128, 64]
    assert [type(m) for m in d.modules() if isinstance(m, nn.LeakyReLU | nn.ReLU)] == [nn.LeakyReLU] * 3
    assert count(g) == linear(128, 4096) + bn(4096) + conv(256, 128) + bn(128) + conv(128, 64) + bn(64) + conv(64, 3)
    assert count(g) == 1_565_955
    assert count(d) == conv(3, 64) + conv(64, 128) + bn(128) + conv(128, 256) + bn(256) + linear(4096, 1)
    assert count(d) == 1_034_113
    # gan_cifar.py's own DCGAN critic has no BN; so has every gradient-penalty critic here
    assert count(f.discriminator(batchnorm=False)) == 1_034_113 - bn(128) - bn(256)
    # GAN-RL: D's flatten output (4x4x256) is the input of G's first BN, no extra layer
    x = torch.rand(2, 3, 32, 32)
    assert d.features(x).shape == (2, 4096) and g.hidden_dim == 4096
    attach_feature_map(d, g)
    assert count(g) == 1_565_955
    assert g.from_hidden(g.feature_map(d.features(x)), source="encoder").shape == (2, 3, 32, 32)


def test_dcgan_64x64():
    """gan_64x64.py's DCGAN pair at DIM = 64: 4x4x512 top, one BN per channel after the reshape."""
    f = _factory("dcgan", (3, 64, 64), layers=4, g_entry_bn="channel")
    g, d = f.generator(), f.discriminator()
    assert [c[:2] for c in _layers(g, nn.ConvTranspose2d)] == [(512, 256), (256, 128), (128, 64), (64, 3)]
    assert [c[:2] for c in _layers(d, nn.Conv2d)] == [(3, 64), (64, 128), (128, 256), (256, 512)]
    assert [m.num_features for m in g.modules() if isinstance(m, SourceBatchNorm)] == [512, 256, 128, 64]
    assert count(g) == (linear(128, 8192) + bn(512) + conv(512, 256) + bn(256) + conv(256, 128) + bn(128)
                        + conv(128, 64) + bn(64) + conv(64, 3)) == 5_364_739
    assert count(d) == (conv(3, 64) + conv(64, 128) + bn(128) + conv(128, 256) + bn(256) + conv(256, 512) + bn(512)
                        + linear(8192, 1)) == 4_316_545
    x = g(torch.randn(2, 128))
    assert x.shape == (2, 3, 64, 64) and d(x).shape == (2,)
    assert d.feature_dim == g.hidden_dim == 8192
    assert g.from_hidden(d.features(x)).shape == (2, 3, 64, 64)
    # the default (per-unit BN) at 64x64, as gan_cifar.py would build it
    g_feature = _factory("dcgan", (3, 64, 64), layers=4).generator()
    assert count(g_feature) == 5_364_739 - bn(512) + bn(8192)


def test_channel_entry_bn_needs_no_fc():
    with pytest.raises(ValueError, match="g_entry_bn: channel needs fc: 0"):
        FAMILIES["conv"][0](g_entry_bn="channel")


def test_conv_is_000_table3_on_color_images():
    """000 Table 3 at a = 32, 3 channels: D conv 64, conv 128, FC 1024, FC 1; G FC 1024,
    FC 8x8x128, deconv 64, deconv 3; 5x5 kernels, BN after every hidden layer."""
    f = _factory("conv", (3, 32, 32))
    g, d = f.generator(), f.discriminator()
    assert _layers(d, nn.Conv2d) == [(3, 64, (5, 5), (2, 2)), (64, 128, (5, 5), (2, 2))]
    assert [c[:2] for c in _layers(g, nn.ConvTranspose2d)] == [(128, 64), (64, 3)]
    assert count(d) == (conv(3, 64) + bn(64) + conv(64, 128) + bn(128) + linear(8 * 8 * 128, 1024) + bn(1024)
                        + linear(1024, 1)) == 8_602_881
    assert count(g) == (linear(50, 1024) + bn(1024) + linear(1024, 8 * 8 * 128) + bn(8 * 8 * 128) + conv(128, 64)
                        + bn(64) + conv(64, 3)) == 8_677_251
    x = g(torch.rand(2, 50))
    assert x.shape == (2, 3, 32, 32) and 0 <= x.min() and x.max() <= 1  # Table 3's sigmoid output
    assert d.feature_dim == g.hidden_dim == 1024
