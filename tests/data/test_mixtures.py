import math

import pytest
import torch
from torch.testing import assert_close

from aegan.config import ConfigError
from aegan.data import build_dataset
from aegan.data.mixtures import Grid25, MixtureConfig, Ring8, mixture_centres
from tests.conftest import tiny_config


def test_ring8_centres_are_distinct_and_on_the_circle():
    c = mixture_centres(Ring8())
    assert c.shape == (8, 2)
    assert_close(c.norm(dim=1), torch.ones(8))
    assert torch.cdist(c, c).add(torch.eye(8) * 10).min() > 0.7, "two centres coincide (linspace bug)"
    assert_close(c[2], torch.tensor([0.0, 1.0]), atol=1e-6, rtol=0)


def test_grid25_centres():
    c = mixture_centres(Grid25())
    assert c.shape == (25, 2)
    assert sorted(set(c[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_samples_have_the_configured_std_and_weights():
    cfg = MixtureConfig(modes=4, layout="ring", radius=2.0, std=0.1, weights=[1, 1, 1, 5])
    data = build_dataset("mixture", cfg, seed=0, device="cpu")
    x, modes = data.sample(40000)
    freq = torch.bincount(modes, minlength=4).float() / 40000
    assert_close(freq, torch.tensor([0.125, 0.125, 0.125, 0.625]), atol=0.01, rtol=0)
    residual = x - data.centres[modes]
    assert_close(residual.std(), torch.tensor(0.1), atol=0.003, rtol=0)


def test_same_seed_same_batches():
    a = build_dataset("ring8", Ring8(), seed=3, device="cpu")
    b = build_dataset("ring8", Ring8(), seed=3, device="cpu")
    assert torch.equal(a.next_batch(16).x, b.next_batch(16).x)


@pytest.mark.parametrize("override", [{"data.weights": [1.0, 2.0]}, {"data.std": 0}])
def test_bad_mixture_configs(override):
    with pytest.raises(ConfigError):
        tiny_config(**override)
