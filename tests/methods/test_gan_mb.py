import pytest
import torch

from aegan.nets import minibatch
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


def direct_l1_kernel_sums(m):
    """The layer's formula written out: broadcast |M_i - M_j|, summed over the kernel dim."""
    return torch.exp(-(m.unsqueeze(1) - m.unsqueeze(0)).abs().sum(-1)).sum(1)  # (N, B)


@pytest.mark.parametrize("tile", [1 << 18, 64])  # one tile; many tiles (off-diagonal ones used twice)
@pytest.mark.parametrize("n, kernels, dim", [(1, 2, 3), (7, 3, 2), (33, 5, 4)])
def test_l1_kernel_sums_match_the_direct_formula_and_cdist(monkeypatch, tile, n, kernels, dim):
    monkeypatch.setattr(minibatch, "TILE_ELEMENTS", tile)
    torch.manual_seed(0)
    m = torch.randn(n, kernels, dim, dtype=torch.float64)
    m[n // 2] = m[0]  # a tie: sign(0) = 0 in the gradient, as in cdist's backward
    m.requires_grad_(True)
    go = torch.randn(n, kernels, dtype=torch.float64)
    fast = minibatch.l1_kernel_sums(m)
    (g_fast,) = torch.autograd.grad(fast, m, go)
    direct = direct_l1_kernel_sums(m)
    (g_direct,) = torch.autograd.grad(direct, m, go)
    mt = m.transpose(0, 1)
    via_cdist = torch.exp(-torch.cdist(mt, mt, p=1.0)).sum(2).t()  # the layer before the fast path
    (g_cdist,) = torch.autograd.grad(via_cdist, m, go)
    torch.testing.assert_close(fast, direct, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast, via_cdist, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_fast, g_direct, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g_fast, g_cdist, rtol=1e-10, atol=1e-12)


def test_l1_kernel_sums_gradcheck(monkeypatch):
    monkeypatch.setattr(minibatch, "TILE_ELEMENTS", 32)
    torch.manual_seed(1)
    m = torch.randn(9, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(minibatch.l1_kernel_sums, (m,))


def test_minibatch_layer_float32_matches_cdist_through_the_whole_layer():
    torch.manual_seed(2)
    layer = MinibatchDiscrimination(8, kernels=4, kernel_dim=3, init_std=0.5)
    f = torch.randn(50, 8, requires_grad=True)
    out = layer(f)
    m = (f @ layer.T).view(-1, 4, 3).transpose(0, 1)
    ref = torch.exp(-torch.cdist(m, m, p=1.0)).sum(2).t()
    go = torch.randn_like(out)
    grads = torch.autograd.grad(out, (f, layer.T), go)
    ref_grads = torch.autograd.grad(ref, (f, layer.T), go)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-5)
