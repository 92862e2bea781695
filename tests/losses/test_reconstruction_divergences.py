import math

import torch
from torch.testing import assert_close

from aegan.losses import divergences, reconstruction


def test_reconstruction_norms_sum_over_dims_mean_over_batch():
    x = torch.zeros(2, 3)
    x_hat = torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, -1.0]])
    assert_close(reconstruction.squared_l2(x, x_hat), torch.tensor((9.0 + 1.0) / 2))
    assert_close(reconstruction.l1(x, x_hat), torch.tensor((5.0 + 1.0) / 2))
    assert_close(reconstruction.per_sample_squared_l2(x, x_hat), torch.tensor([9.0, 1.0]))


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
