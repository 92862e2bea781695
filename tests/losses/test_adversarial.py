"""Adversarial losses against closed-form values (two-sided: exact values, not bounds)."""

import math

import torch
from torch.testing import assert_close

from aegan.losses import adversarial as adv

LOGITS = torch.tensor([-2.0, 0.0, 3.0])
PROBS = torch.sigmoid(LOGITS)


def test_bce_matches_log_formulas():
    assert_close(adv.bce_real(LOGITS), -PROBS.log().mean())
    assert_close(adv.bce_fake(LOGITS), -(1 - PROBS).log().mean())


def test_discriminator_bce_at_equilibrium_is_2_ln2():
    zero = torch.zeros(4)
    assert_close(adv.discriminator_bce(zero, zero), torch.tensor(2 * math.log(2)))


def test_discriminator_bce_closed_form():
    real, fake = torch.tensor([1.0, 2.0]), torch.tensor([-1.0, 0.5])
    expected = -(torch.sigmoid(real).log().mean() + (1 - torch.sigmoid(fake)).log().mean())
    assert_close(adv.discriminator_bce(real, fake), expected)


def test_generator_minimax_is_log_one_minus_d():
    assert_close(adv.generator_minimax(LOGITS), (1 - PROBS).log().mean())


def test_generator_nonsaturating_is_minus_log_d():
    assert_close(adv.generator_nonsaturating(LOGITS), -PROBS.log().mean())


def test_minimax_saturates_and_nonsaturating_does_not():
    """When D rejects fakes confidently (logit -10) the minimax gradient vanishes (004)."""
    fake = torch.tensor([-10.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(adv.generator_minimax(fake), fake)
    (g_ns,) = torch.autograd.grad(adv.generator_nonsaturating(fake), fake)
    assert abs(g_mm.item()) < 1e-4
    assert_close(g_ns, torch.tensor([-(1 - torch.sigmoid(torch.tensor(-10.0)).item())]))


def test_losses_are_stable_for_extreme_logits():
    big = torch.tensor([-200.0, 200.0])
    for fn in (adv.bce_real, adv.bce_fake, adv.generator_minimax, adv.generator_nonsaturating):
        assert torch.isfinite(fn(big))
    assert_close(adv.bce_real(torch.tensor([-200.0])), torch.tensor(200.0))


def test_least_squares():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    assert_close(adv.least_squares_discriminator(real, fake), torch.tensor(0.5 * 0.5 + 0.5 * 2.0))
    assert_close(adv.least_squares_generator(fake), torch.tensor(0.5 * 1.0))


def test_wasserstein():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    assert_close(adv.wasserstein_critic(real, fake), torch.tensor(-1.0 - 2.0))
    assert_close(adv.wasserstein_generator(fake), torch.tensor(1.0))


# -- relativistic pairing (RpGAN; R3GAN's objective) ----------------------------------------------
def _softplus(t: float) -> float:
    return math.log1p(math.exp(t))


def test_relativistic_pairing_on_given_logits():
    """D's loss E softplus(D(G(z)) - D(x)) and G's E softplus(D(x) - D(G(z))), pair by pair:
    D(x) = (3, 4), D(G(z)) = (0, 6) -> differences fake - real = (-3, 2)."""
    real, fake = torch.tensor([3.0, 4.0]), torch.tensor([0.0, 6.0])
    d_loss = (_softplus(-3.0) + _softplus(2.0)) / 2  # (0.048587 + 2.126928) / 2 = 1.087758
    g_loss = (_softplus(3.0) + _softplus(-2.0)) / 2  # (3.048587 + 0.126928) / 2 = 1.587758
    assert_close(adv.relativistic_pairing(fake, real), torch.tensor(d_loss))
    assert_close(adv.relativistic_pairing(real, fake), torch.tensor(g_loss))
    assert abs(d_loss - 1.087758) < 1e-6 and abs(g_loss - 1.587758) < 1e-6


def test_relativistic_pairing_reads_differences_only_and_pairs_in_order():
    real, fake = torch.tensor([3.0, 4.0]), torch.tensor([0.0, 6.0])
    assert_close(adv.relativistic_pairing(fake + 7.0, real + 7.0), adv.relativistic_pairing(fake, real))
    assert_close(adv.relativistic_pairing(torch.zeros(3), torch.zeros(3)), torch.tensor(math.log(2)))
    swapped = adv.relativistic_pairing(fake.flip(0), real)  # pairs (6 - 3, 0 - 4): another value
    assert not torch.allclose(swapped, adv.relativistic_pairing(fake, real))


def test_relativistic_pairing_refuses_batches_of_two_sizes():
    import pytest

    with pytest.raises(ValueError, match="one size"):
        adv.relativistic_pairing(torch.zeros(3), torch.zeros(4))
