import torch
from torch.testing import assert_close

from aegan.losses.divergences import fitted_gaussian_kl
from aegan.methods.base import Batch
from tests.methods.baseline_helpers import Affine, method


def test_age_encoder_maximises_fake_kl_and_generator_minimises_it():
    torch.manual_seed(0)
    m = method("age", data_reconstruction_weight=10.0, latent_reconstruction_weight=5.0)
    nets = {"encoder": Affine(scale=2.0), "generator": Affine(scale=1.0)}  # E(G(z)) = 2 z
    x = torch.randn(64, 2)
    scratch: dict = {}
    e = m.encoder_terms(nets, Batch(x), scratch)
    assert_close(e["kl_real"], fitted_gaussian_kl(2 * x))
    assert e["kl_fake"].item() < 0  # E maximises the KL of E(G(z))
    assert_close(e["reconstruction"], 10.0 * x.abs().sum(1).mean())  # ||x - G(E(x))||_1 = ||x||_1
    torch.manual_seed(1)
    g = m.generator_terms(nets, Batch(x), scratch)
    torch.manual_seed(1)
    z = torch.randn(64, 2)
    assert_close(g["kl_fake"], fitted_gaussian_kl(2 * z))
    assert_close(g["latent_reconstruction"], 5.0 * z.pow(2).sum(1).mean())  # ||z - 2z||^2
    phases = m.step_phases(0)  # AGE's two G steps per E step: its generator_steps default, applied once
    assert [p.updates for p in phases] == [("encoder",), ("generator",), ("generator",)]
    assert [p.name for p in phases] == ["encoder", "generator", "generator_2"] and not phases[2].fresh_batch
