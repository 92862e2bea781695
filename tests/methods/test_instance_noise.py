import torch

from aegan.noise import add_instance_noise, linear_anneal
from tests.methods.baseline_helpers import Spy, batch, method


def test_linear_schedule_reaches_zero_and_stays():
    assert linear_anneal(0, 0.5, 100) == 0.5
    assert abs(linear_anneal(50, 0.5, 100) - 0.25) < 1e-12
    assert linear_anneal(100, 0.5, 100) == 0.0
    assert linear_anneal(10_000, 0.5, 100) == 0.0
    assert linear_anneal(0, 0.5, 0) == 0.0


def test_noise_has_the_requested_std_and_vanishes_at_zero():
    torch.manual_seed(0)
    x = torch.zeros(20000, 2)
    assert abs(add_instance_noise(x, 0.3).std().item() - 0.3) < 0.01
    assert add_instance_noise(x, 0.0) is x


def test_method_noises_both_d_inputs_until_the_schedule_ends():
    m = method("instance_noise", initial_std=1.0, anneal_steps=10)
    d = Spy()
    b, fake = batch([1.0, 1.0], [2.0, 2.0]), torch.zeros(2, 2)
    m.phases(0)
    m.discriminator_terms({"discriminator": d}, b, {"fake": fake})
    seen = d.calls[-1][0]
    assert not torch.equal(seen[:2], b.x) and not torch.equal(seen[2:], fake)
    m.phases(10)
    assert m.std == 0.0
    scratch = {"fake": fake}
    m.discriminator_terms({"discriminator": d}, b, scratch)
    assert torch.equal(d.calls[-1][0], torch.cat([b.x, fake]))
    assert scratch["diagnostics"]["noise_std"].item() == 0.0
