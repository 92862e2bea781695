import pytest
import torch
from torch.testing import assert_close

from aegan.methods import shared_terms
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


# -- zero-centred penalties (R1 / R2, Mescheder et al. 2018) -------------------------------------
def test_zero_centred_penalty_of_linear_critic_is_squared_weight_norm():
    """D(x) = w.x has grad_x D = w at every point: E ||grad||^2 = ||w||^2 = 25, so
    R1 = gamma/2 ||w||^2 exactly (62.5 at gamma = 5)."""
    w = torch.tensor([3.0, 4.0])

    def critic(x):
        return x @ w

    real, fake = torch.randn(6, 2), torch.randn(6, 2) * 10
    assert_close(penalties.zero_centred_penalty(critic, real), torch.tensor(25.0))
    assert_close(2.5 * shared_terms.gradient_penalty("r1", critic, real, fake), torch.tensor(62.5))
    assert_close(shared_terms.gradient_penalty("r2", critic, real, fake), torch.tensor(25.0))


def test_zero_centred_penalty_is_taken_at_its_own_batch():
    """D(x) = ||x||^2 has grad 2x, ||grad||^2 = 4 ||x||^2: R1 reads the real batch, R2 the fake."""
    real = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # ||x||^2 = 1, 4 -> 4 * mean(1, 4) = 10
    fake = torch.tensor([[3.0, 0.0], [0.0, 0.0]])  # 9, 0 -> 4 * mean(9, 0) = 18

    def critic(x):
        return x.pow(2).sum(1)

    assert_close(shared_terms.gradient_penalty("r1", critic, real, fake), torch.tensor(10.0))
    assert_close(shared_terms.gradient_penalty("r2", critic, real, fake), torch.tensor(18.0))


def test_zero_centred_penalty_sums_over_image_dimensions():
    """Per sample, the squared norm over every data dimension (R3GAN's .sum([1, 2, 3]))."""
    w = torch.full((1, 2, 2), 0.5)  # ||w||^2 = 4 * 0.25 = 1

    def critic(x):
        return (x * w).flatten(1).sum(1)

    assert_close(penalties.zero_centred_penalty(critic, torch.randn(3, 1, 2, 2)), torch.tensor(1.0))


def test_zero_centred_penalty_differentiates_into_critic_parameters():
    """d/dw of ||w||^2 is 2w: the penalty trains D (double backward), and is finite at w = 0."""
    critic = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[1.0, -2.0]]))
    penalties.zero_centred_penalty(lambda x: critic(x).squeeze(-1), torch.randn(5, 2)).backward()
    assert_close(critic.weight.grad, torch.tensor([[2.0, -4.0]]))
    with torch.no_grad():
        critic.weight.zero_()
    critic.weight.grad = None
    penalties.zero_centred_penalty(lambda x: critic(x).squeeze(-1), torch.randn(5, 2)).backward()
    assert torch.equal(critic.weight.grad, torch.zeros(1, 2))


def test_unknown_penalty_kind_is_refused():
    with pytest.raises(ValueError, match="r1, r2"):
        shared_terms.gradient_penalty("r3", lambda x: x.sum(1), torch.zeros(1, 2), torch.zeros(1, 2))
