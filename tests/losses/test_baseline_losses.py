"""Closed-form two-sided tests of the baselines' loss functions (issue 5)."""

from __future__ import annotations

import math

import torch
from torch.testing import assert_close

from aegan.losses import adversarial as adv
from aegan.losses import energy
from aegan.losses.divergences import fitted_gaussian_kl, mmd


def t(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_generator_log_ratio_is_minus_mean_logit():
    logits = torch.tensor([1.0, -3.0, 0.5])
    assert_close(adv.generator_log_ratio(logits), torch.tensor(0.5))
    # equals -log D + log(1 - D)
    d = torch.sigmoid(logits)
    assert_close(adv.generator_log_ratio(logits), (-d.log() + (1 - d).log()).mean())


def test_mmd_zero_for_identical_and_closed_form_for_point_masses():
    x = torch.randn(16, 2)
    assert mmd(x, x.clone(), [0.5, 1.0]).item() < 1e-5
    a, s = 1.5, 0.7
    x, y = torch.zeros(8, 2), torch.tensor([[a, 0.0]]).repeat(8, 1)
    expected = math.sqrt(2 - 2 * math.exp(-a * a / (2 * s * s)))
    assert_close(mmd(x, y, [s]), torch.tensor(expected))


def test_fitted_gaussian_kl():
    # dim 0: mean 1, var 1 -> 0.5; dim 1: mean 1, var 1 -> 0.5
    assert_close(fitted_gaussian_kl(t([0.0, 2.0], [2.0, 0.0])), torch.tensor(1.0))
    # mean 0, var 1 in both dims: the prior itself
    assert_close(fitted_gaussian_kl(t([1.0, -1.0], [-1.0, 1.0])), torch.tensor(0.0))
    # mean 0, var 4: 0.5 (4 - 1 - log 4) per dim
    assert_close(fitted_gaussian_kl(t([2.0], [-2.0])), torch.tensor(0.5 * (3 - math.log(4))))


def test_autoencoder_energy():
    x, x_hat = t([1.0, 2.0], [0.0, 0.0]), t([0.0, 0.0], [0.0, -2.0])
    assert_close(energy.autoencoder_energy(x, x_hat), torch.tensor([2.5, 2.0]))
    assert_close(energy.autoencoder_energy(x, x_hat, power=1.0), torch.tensor([1.5, 1.0]))


def test_ebgan_margin_loss():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.5, 2.0])
    assert_close(energy.ebgan_discriminator(real, fake, margin=1.0), torch.tensor(2.0 + 0.25))
    assert_close(energy.ebgan_discriminator(real, fake, margin=0.1), torch.tensor(2.0))


def test_pulling_away_term():
    assert_close(energy.pulling_away(t([1.0, 0.0], [0.0, 2.0])), torch.tensor(0.0))
    assert_close(energy.pulling_away(t([1.0, 1.0], [2.0, 2.0], [3.0, 3.0])), torch.tensor(1.0))
    assert_close(energy.pulling_away(t([1.0, 0.0], [1.0, 1.0])), torch.tensor(0.5))
    # three codes: cos^2 = 0.5 (pairs with the diagonal), 0 (the orthogonal pair)
    assert_close(energy.pulling_away(t([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])), torch.tensor(4 * 0.5 / 6))


def test_began_losses_and_k_update():
    assert_close(energy.began_discriminator(torch.tensor(2.0), torch.tensor(3.0), 0.5), torch.tensor(0.5))
    assert_close(energy.began_convergence(torch.tensor(2.0), torch.tensor(0.5), 0.5), torch.tensor(2.5))
    assert_close(energy.began_convergence(torch.tensor(2.0), torch.tensor(1.5), 0.5), torch.tensor(2.5))
    assert math.isclose(energy.began_k_update(0.5, 2.0, 0.5, gamma=0.5, lambda_k=0.1), 0.55)
    assert math.isclose(energy.began_k_update(0.5, 2.0, 1.5, gamma=0.5, lambda_k=0.1), 0.45)
    assert energy.began_k_update(0.0, 0.0, 5.0, gamma=0.5, lambda_k=0.1) == 0.0
    assert energy.began_k_update(0.99, 10.0, 0.0, gamma=0.5, lambda_k=1.0) == 1.0
