import torch
from torch.testing import assert_close

from aegan.losses import penalties


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    w = torch.tensor([0.6, 0.8])  # ||w|| = 1 everywhere

    def critic(x):
        return x @ w

    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert_close(penalties.interpolate_gradient_penalty(critic, real, fake), torch.tensor(0.0))
    assert_close(penalties.dragan_penalty(critic, real), torch.tensor(0.0))


def test_gradient_penalty_closed_form_for_scaled_critic():
    w = torch.tensor([3.0, 4.0])  # ||w|| = 5 -> (5 - 1)^2 = 16

    def critic(x):
        return x @ w

    assert_close(penalties.interpolate_gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2)), torch.tensor(16.0))


def test_gradient_penalty_differentiates_into_critic_parameters():
    critic = torch.nn.Linear(2, 1)
    gp = penalties.interpolate_gradient_penalty(lambda x: critic(x).squeeze(-1), torch.randn(4, 2), torch.randn(4, 2))
    gp.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_interpolates_lie_between_real_and_fake():
    real, fake = torch.zeros(100, 2), torch.ones(100, 2)
    x = penalties.interpolate(real, fake)
    assert (x >= 0).all() and (x <= 1).all() and torch.equal(x[:, 0], x[:, 1])
