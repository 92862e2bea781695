import math

import pytest
import torch
from torch.testing import assert_close

from aegan.losses import divergences, reconstruction


def test_reconstruction_norms_sum_over_dims_mean_over_batch():
    x = torch.zeros(2, 3)
    x_hat = torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, -1.0]])
    assert_close(reconstruction.squared_l2(x, x_hat), torch.tensor((9.0 + 1.0) / 2))
    assert_close(reconstruction.l1(x, x_hat), torch.tensor((5.0 + 1.0) / 2))


def test_l2_norm_is_the_unsquared_norm_of_each_sample():
    """Samples at distance 3 (1, 2, 2) and 1: E||x - x_hat||_2 = 2, where the squared reading
    gives 5 and the per-element mean 10/6; per-sample RMS: (3 + 1) / 2 / sqrt(3)."""
    x = torch.zeros(2, 3)
    x_hat = torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, -1.0]])
    assert_close(reconstruction.l2(x, x_hat), torch.tensor(2.0))
    assert_close(reconstruction.l2(x, x_hat, "mean"), torch.tensor(2.0 / math.sqrt(3)))
    assert_close(reconstruction.squared_l2(x, x_hat, "mean"), torch.tensor(10.0 / 6))
    # images: the norm runs over every dimension but the batch
    assert_close(reconstruction.l2(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5)), torch.tensor(1.0))


def test_l2_norm_gradient_is_a_unit_direction_and_zero_at_an_exact_reconstruction():
    x_hat = torch.tensor([[3.0, 4.0], [0.0, 0.0]], requires_grad=True)
    reconstruction.l2(torch.zeros(2, 2), x_hat).backward()
    # d/dx_hat (1/2) sum_i ||x_hat_i|| = x_hat_i / (2 ||x_hat_i||); 0 (not NaN) where x_hat_i = x_i
    assert_close(x_hat.grad, torch.tensor([[0.3, 0.4], [0.0, 0.0]]))


def test_gaussian_kl_zero_for_standard_normal_and_closed_form_otherwise():
    assert_close(divergences.gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)), torch.tensor(0.0))
    mu, logvar = torch.tensor([[1.0]]), torch.tensor([[math.log(4.0)]])
    expected = 0.5 * (1.0 + 4.0 - 1.0 - math.log(4.0))
    assert_close(divergences.gaussian_kl(mu, logvar), torch.tensor(expected))


def test_mmd_zero_for_identical_and_closed_form_for_points():
    x = torch.randn(16, 2)
    assert_close(divergences.mmd2(x, x, [1.0]), torch.tensor(0.0), atol=1e-6, rtol=0)
    a, b = torch.tensor([[0.0]]), torch.tensor([[1.0]])
    # k(a,a) = k(b,b) = 1, k(a,b) = exp(-1/2) for bandwidth 1
    assert_close(divergences.mmd2(a, b, [1.0]), torch.tensor(2 - 2 * math.exp(-0.5)))
    assert_close(divergences.mmd2(a, b, [1.0, 2.0]), torch.tensor(4 - 2 * (math.exp(-0.5) + math.exp(-1 / 8))))


def test_unbiased_mmd_drops_diagonal():
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0], [1.0]])
    k01 = math.exp(-0.5)
    expected = k01 + k01 - 2 * (2 + 2 * k01) / 4
    assert_close(divergences.mmd2(x, y, [1.0], unbiased=True), torch.tensor(expected))


# -- the fast MMD path against the direct formula --------------------------------------------

def direct_kernel(a, b, bandwidths):
    """sum_s exp(-||a_i - b_j||^2 / (2 s^2)) from broadcast differences (the definition)."""
    sq = (a.flatten(1)[:, None] - b.flatten(1)[None]).pow(2).sum(-1)
    return sum(torch.exp(-sq / (2.0 * s * s)) for s in bandwidths)


def direct_mmd2(x, y, bandwidths, unbiased=False):
    kxx, kyy, kxy = (direct_kernel(a, b, bandwidths) for a, b in ((x, x), (y, y), (x, y)))
    if unbiased:
        n, m = len(x), len(y)
        return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
                + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())
    return kxx.mean() + kyy.mean() - 2 * kxy.mean()


@pytest.mark.parametrize("shape", [(2,), (3, 2, 4)])  # 2D points (differences); images (matrix product)
@pytest.mark.parametrize("unbiased", [False, True])
def test_mmd2_matches_the_direct_formula_in_value_and_gradient(shape, unbiased):
    torch.manual_seed(0)
    bandwidths = (0.05, 0.5, 2.0, 5.0)
    x = (torch.randn(13, *shape, dtype=torch.float64) + 3.0).requires_grad_(True)  # off-centre data
    y = (torch.randn(9, *shape, dtype=torch.float64) * 0.7 + 3.0).requires_grad_(True)
    fast, direct = divergences.mmd2(x, y, bandwidths, unbiased), direct_mmd2(x, y, bandwidths, unbiased)
    assert_close(fast, direct, rtol=1e-10, atol=1e-12)
    for g_fast, g_direct in zip(torch.autograd.grad(fast, (x, y)), torch.autograd.grad(direct, (x, y))):
        assert_close(g_fast, g_direct, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("dim", [2, 40])
def test_gaussian_kernel_matches_the_direct_formula(dim):
    torch.manual_seed(1)
    a = torch.randn(7, dim, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dim, dtype=torch.float64, requires_grad=True)
    fast, direct = divergences.gaussian_kernel(a, b, [1.0, 3.0]), direct_kernel(a, b, [1.0, 3.0])
    assert_close(fast, direct, rtol=1e-10, atol=1e-12)
    go = torch.randn_like(fast)
    for g_fast, g_direct in zip(torch.autograd.grad(fast, (a, b), go), torch.autograd.grad(direct, (a, b), go)):
        assert_close(g_fast, g_direct, rtol=1e-8, atol=1e-10)
    assert torch.autograd.gradcheck(lambda sq: divergences.gaussian_sum(sq, [1.0, 3.0]), (torch.rand(4, 3, dtype=torch.float64, requires_grad=True),))


def test_mmd_float32_close_to_float64_and_zero_for_identical_samples():
    torch.manual_seed(2)
    bandwidths = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # GMMN's 2D bandwidths
    x, y = torch.randn(64, 2) * 0.01 + 1.0, torch.randn(64, 2) * 0.01 + 1.0  # one ring mode
    assert_close(divergences.mmd2(x, y, bandwidths).double(), direct_mmd2(x.double(), y.double(), bandwidths),
                 rtol=1e-4, atol=1e-7)
    assert abs(divergences.mmd2(x, x.clone(), bandwidths).item()) < 1e-12
    images = torch.rand(16, 3, 8, 8)
    assert abs(divergences.mmd2(images, images.clone(), [2.0, 5.0]).item()) < 1e-6


def test_kernel_exponents_below_the_normal_range_are_clamped_not_nan():
    far = torch.tensor([[0.0], [100.0]], requires_grad=True)  # exp(-1e4 / 2) underflows
    k = divergences.gaussian_kernel(far, far, [1.0])
    assert_close(k.detach(), torch.eye(2), atol=1e-37, rtol=0)
    (g,) = torch.autograd.grad(k.sum(), far)
    assert torch.isfinite(g).all() and g.abs().max() < 1e-30
