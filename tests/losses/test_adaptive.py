"""alpha_L and the decayed generator loss of 000 Algorithm 1, against closed forms."""

import torch
from torch.testing import assert_close

from aegan.losses.adaptive import adaptive_weight, generator_decayed_minimax

LOGITS = torch.tensor([-2.0, 0.0, 3.0])


def test_adaptive_weight_is_min_alpha_error_one():
    assert_close(adaptive_weight(torch.tensor(0.004), 100.0), torch.tensor(0.4))
    assert_close(adaptive_weight(torch.tensor(0.03), 100.0), torch.tensor(1.0))
    assert_close(adaptive_weight(torch.tensor(0.0), 100.0), torch.tensor(0.0))


def test_adaptive_weight_is_detached():
    error = torch.tensor(0.002, requires_grad=True)
    assert not adaptive_weight(error * 1.0, 100.0).requires_grad


def test_decayed_minimax_closed_form_and_gradient():
    for a in (0.0, 0.3, 1.0):
        d = LOGITS.clone().requires_grad_(True)
        value = generator_decayed_minimax(d, a)
        s = torch.sigmoid(LOGITS)
        assert_close(value, torch.log(1 - a * s).mean())
        (grad,) = torch.autograd.grad(value, d)
        assert_close(grad, -a * s * (1 - s) / (1 - a * s) / len(LOGITS))


def test_decayed_minimax_at_one_is_minimax_and_stable():
    big = torch.tensor([40.0, -40.0])
    assert_close(generator_decayed_minimax(big, 1.0), -torch.nn.functional.softplus(big).mean())
    assert torch.isfinite(generator_decayed_minimax(big, 0.999))
