import torch

from aegan.nets.minibatch import MinibatchDiscrimination, MinibatchDiscriminator
from aegan.nets.factory import MLPConfig, MLPFactory
from tests.methods.baseline_helpers import method


def test_minibatch_features_tell_a_collapsed_batch_from_a_diverse_one():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(8, kernels=6, kernel_dim=3, init_std=1.0)
    collapsed = torch.randn(1, 8).repeat(10, 1)
    diverse = torch.randn(10, 8) * 3
    o_collapsed, o_diverse = layer(collapsed), layer(diverse)
    assert o_collapsed.shape == (10, 6)
    torch.testing.assert_close(o_collapsed, torch.full((10, 6), 10.0))  # exp(0) summed over the batch
    assert (o_diverse < 9.0).all() and (o_diverse >= 1.0).all()  # j = i contributes exp(0) = 1


def test_gan_mb_discriminator_is_batch_coupled():
    torch.manual_seed(0)
    nets = method("gan_mb").build_nets(MLPFactory(MLPConfig(hidden=16), (2,)))
    d = nets["discriminator"]
    assert isinstance(d, MinibatchDiscriminator) and d.batch_coupled
    x = torch.randn(6, 2)
    alone = d(x[:3])
    together = d(x)[:3]
    assert not torch.allclose(alone, together)  # each output depends on the rest of the batch
