"""FID / KID: the Frechet distance against an independent scipy computation, the KID
estimator against its definition, TF1's resize, and the metric end to end on real digits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from aegan.config import ConfigError, build_config
from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext
from aegan.metrics.classifier import WeightsError
from aegan.metrics.fid import (INCEPTION_SHA256, default_weights, frechet_distance, inception_input,
                               kernel_inception_distance, tf1_resize_bilinear)


def _has_inception() -> bool:
    try:
        default_weights()
        return True
    except WeightsError:
        return False


needs_inception = pytest.mark.skipif(not _has_inception(), reason="the FID Inception file: aegan assets --fetch (make setup runs it)")


def _correlated(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + shift


def test_frechet_distance_matches_scipy_sqrtm_formula():
    a, b = _correlated(400, 6, 0), _correlated(300, 6, 1, shift=0.5)
    s1, s2 = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    mean_term = float(((a.mean(0) - b.mean(0)) ** 2).sum())
    reference = mean_term + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-6)


def test_frechet_distance_is_zero_for_equal_sets_and_the_squared_shift_for_translates():
    a = _correlated(200, 5, 2)
    assert abs(frechet_distance(a, a)) < 1e-8
    assert frechet_distance(a, a + 3.0) == pytest.approx(5 * 9.0, rel=1e-8)


def test_frechet_distance_handles_fewer_samples_than_dimensions():
    a, b = _correlated(10, 32, 3), _correlated(10, 32, 4)  # singular covariances
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value > 0


def test_kid_is_the_unbiased_polynomial_mmd_on_one_full_subset():
    a, b = _correlated(12, 4, 5), _correlated(12, 4, 6, shift=1.0)

    def k(x, y):
        return (float(x @ y) / 4 + 1) ** 3

    n = len(a)
    within = sum(k(a[i], a[j]) + k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    across = sum(k(a[i], b[j]) for i in range(n) for j in range(n)) / (n * n)
    mean, std = kernel_inception_distance(a, b, subsets=1, subset_size=n)
    assert mean == pytest.approx(within - 2 * across, rel=1e-9) and std == 0.0
    pool = _correlated(600, 4, 7)  # two halves of one distribution, and a translate
    same, _ = kernel_inception_distance(pool[:300], pool[300:], 5, 100)
    far, _ = kernel_inception_distance(pool[:300], pool[300:] + 2.0, 5, 100)
    assert far > 10 * abs(same)


def test_tf1_resize_samples_at_i_times_in_over_out_with_clamped_edges():
    x = torch.tensor([[0.0, 4.0], [8.0, 12.0]]).view(1, 1, 2, 2)
    out = tf1_resize_bilinear(x, 4)[0, 0]
    # rows at source y = 0, 0.5, 1, 1.5 -> clamped to 1; same for columns
    expected = torch.tensor([[0, 2, 4, 4], [4, 6, 8, 8], [8, 10, 12, 12], [8, 10, 12, 12]], dtype=torch.float32)
    assert torch.allclose(out, expected)


def test_inception_input_quantises_repeats_grey_and_scales_like_tf():
    x = torch.tensor([0.0, 1.0, 0.5, 0.1]).view(4, 1, 1, 1).expand(4, 1, 5, 5)
    inp = inception_input(x)
    assert inp.shape == (4, 3, 299, 299)
    # pixel 0 -> -1, 255 -> 127/128, 0.5 -> round(127.5) = 128 -> 0, 0.1 -> round(25.5) = 26
    for image, value in zip(inp, (-1.0, 127 / 128, 0.0, 26 / 128 - 1)):
        assert torch.allclose(image, torch.full_like(image, value), atol=1e-5)
    with pytest.raises(ValueError, match="2D mixtures"):
        inception_input(torch.zeros(5, 2))


def test_fid_params_are_validated_in_configs():
    base = {"method": {"name": "nsgan"}, "data": {"name": "digits"}, "eval": {"metrics": ["fid"]}}
    build_config({**base, "eval": {"metrics": ["fid"], "params": {"fid": {"n_real": 10, "kid_subsets": 3}}}})
    with pytest.raises(ConfigError, match="eval.params.fid"):
        build_config({**base, "eval": {"metrics": ["fid"], "params": {"fid": {"n_fake": 10}}}})


@needs_inception
def test_fid_ranks_real_digits_far_below_a_constant_image():
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    real = data.sample(12, seed=123).x
    params = {"n_real": 12, "kid_subsets": 2, "kid_subset_size": 12, "batch_size": 12, "device": "cpu"}
    good = METRICS["fid"](EvalContext(lambda n: real[:n], data, 12), params)
    collapsed = METRICS["fid"](EvalContext(lambda n: torch.full((n, *real.shape[1:]), 0.5), data, 12), params)
    assert good["weights_sha256"] == INCEPTION_SHA256 and good["n_real"] == 12
    assert 0 < good["fid"] < collapsed["fid"] / 3
    assert good["kid"] < collapsed["kid"]
