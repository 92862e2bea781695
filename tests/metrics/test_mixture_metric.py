import math

import torch
from torch.testing import assert_close

from aegan.data.mixtures import Grid25, Ring8, mixture_centres, GaussianMixture
from aegan.metrics.mixture import mixture_scores


def _scores(samples, data):
    return mixture_scores(samples, data.centres, data.std, data.weights)


def test_real_data_scores_perfectly():
    data = GaussianMixture(Ring8(), 0, "cpu")
    s = _scores(data.sample(2500)[0], data)
    assert s["modes"] == 8 and s["strict_modes"] == 8
    assert s["high_quality"] > 0.98
    assert s["kl"] < 0.01


def test_collapsed_generator_finds_one_mode_and_max_kl():
    data = GaussianMixture(Grid25(), 0, "cpu")
    samples = data.centres[7].repeat(2500, 1)
    s = _scores(samples, data)
    assert s["modes"] == 1 and s["strict_modes"] == 1 and s["high_quality"] == 1.0
    assert_close(torch.tensor(s["kl"]), torch.tensor(math.log(25)))


def test_far_samples_are_low_quality_and_capture_nothing():
    data = GaussianMixture(Ring8(), 0, "cpu")
    s = _scores(torch.full((100, 2), 5.0), data)
    assert s["modes"] == 0 and s["high_quality"] == 0 and s["kl"] is None


def test_strict_count_needs_a_minimum_share():
    data = GaussianMixture(Ring8(), 0, "cpu")
    # 8 modes touched, but mode 0 holds only 2 of 2500 samples
    samples = torch.cat([data.centres[1:].repeat(357, 1), data.centres[:1].repeat(2, 1)])
    s = _scores(samples, data)
    assert s["modes"] == 8 and s["strict_modes"] == 7


def test_three_std_boundary():
    data = GaussianMixture(Ring8(), 0, "cpu")
    centre = data.centres[0]
    inside = centre + torch.tensor([[0.0299, 0.0]])
    outside = centre + torch.tensor([[0.0301, 0.0]])
    assert _scores(inside, data)["high_quality"] == 1.0
    assert _scores(outside, data)["high_quality"] == 0.0
