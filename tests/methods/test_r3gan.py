"""R3GAN's objective (Huang et al. 2024) on stub nets with known outputs: the relativistic pairing
loss and gamma/2 (R1 + R2) on a linear D, the G loss with the pair swapped, fresh z and batch for G."""

import math

import torch
from torch import nn
from torch.testing import assert_close

from aegan.methods import METHODS
from aegan.methods.base import Batch
from tests.methods._helpers import check_one_step, tiny_trainer
from tests.methods.baseline_helpers import Linear, method


def _softplus(t: float) -> float:
    return math.log1p(math.exp(t))


class Fixed(nn.Module):
    """G that returns given points whatever z (as a parameter, so G has a gradient)."""

    def __init__(self, points):
        super().__init__()
        self.points = nn.Parameter(torch.tensor(points))

    def forward(self, z, source: str = "prior"):
        return self.points[: z.shape[0]] + 0.0 * z.sum()


NETS = lambda: {"generator": Fixed([[0.0, 0.0], [2.0, 0.0]]), "discriminator": Linear([3.0, 4.0])}  # noqa: E731
REAL = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # D(x) = 3, 4; D(G(z)) = 0, 6


def test_discriminator_terms_on_a_linear_discriminator():
    """relativistic = mean softplus(D(G(z)) - D(x)) = (softplus(-3) + softplus(2)) / 2;
    R1 = R2 = gamma/2 ||w||^2 = 0.025 * 25 = 0.625 at the default gamma = 0.05."""
    m = method("r3gan")
    assert m.config.gamma == 0.05
    scratch: dict = {}
    terms = m.discriminator_terms(NETS(), Batch(REAL), scratch)
    assert set(terms) == {"relativistic", "r1", "r2"}
    assert_close(terms["relativistic"], torch.tensor((_softplus(-3.0) + _softplus(2.0)) / 2))  # 1.087758
    assert_close(terms["r1"], torch.tensor(0.625))
    assert_close(terms["r2"], torch.tensor(0.625))
    d_real = (torch.sigmoid(torch.tensor(3.0)) + torch.sigmoid(torch.tensor(-2.0))) / 2
    assert_close(scratch["diagnostics"]["d_real"], d_real)
    assert_close(scratch["diagnostics"]["d_fake"], 1 - d_real)


def test_r1_and_r2_are_taken_on_real_and_on_generated_samples():
    """D(x) = ||x||^2: ||grad||^2 = 4 ||x||^2, on real (1, 1) -> 4, on fake (0, 4) -> 8;
    at gamma = 2 the weight gamma/2 is 1."""

    class Square(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(torch.tensor(1.0))

        def forward(self, x):
            return self.s * x.pow(2).sum(1)

    nets = {"generator": Fixed([[0.0, 0.0], [2.0, 0.0]]), "discriminator": Square()}
    terms = method("r3gan", gamma=2.0).discriminator_terms(nets, Batch(REAL), {})
    assert_close(terms["r1"], torch.tensor(4.0))
    assert_close(terms["r2"], torch.tensor(8.0))


def test_generator_loss_swaps_the_pair():
    """G: mean softplus(D(x) - D(G(z))) = (softplus(3) + softplus(-2)) / 2 = 1.587758."""
    terms = method("r3gan").generator_terms(NETS(), Batch(REAL), {})
    assert set(terms) == {"adversarial"}
    assert_close(terms["adversarial"], torch.tensor((_softplus(3.0) + _softplus(-2.0)) / 2))


def test_each_phase_moves_only_its_nets_and_g_draws_a_fresh_batch(tmp_path):
    trainer = tiny_trainer("r3gan", tmp_path)
    phases = check_one_step(trainer, "r3gan")
    assert [(p.name, p.updates, p.fresh_batch) for p in phases] == [
        ("discriminator", ("discriminator",), False), ("generator", ("generator",), True)]
    assert not METHODS["r3gan"].critic_batchnorm
