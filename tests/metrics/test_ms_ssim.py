"""ms_ssim: pairs of distinct samples, scales fitted to the image size, read as quality (002) and as collapse."""

import pytest
import torch

from aegan.config import ConfigError, build_config
from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext
from aegan.metrics.ms_ssim import (MSSSIMParams, betas_for, collapse_signal, fitting_scales, mean_pair_ms_ssim,
                                   window_size)

pytest.importorskip("torchmetrics")


def test_scales_fit_the_image_size_and_window():
    assert window_size(1.5) == 11 and window_size(0.8) == 7
    assert fitting_scales(28, 28, 11) == 2
    assert fitting_scales(28, 28, 7) == 3
    assert fitting_scales(256, 256, 11) == 5
    with pytest.raises(ValueError, match="too small"):
        fitting_scales(8, 8, 11)
    assert sum(betas_for(2)) == pytest.approx(1.0)


def test_a_collapsed_generator_scores_one_and_distinct_images_lower():
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    real = data.sample(64, seed=0).x  # 8 x 8 digits
    params = {"pairs": 200, "sigma": 0.3}  # a 3-px window for 8 x 8 images
    collapsed = METRICS["ms_ssim"](EvalContext(lambda n: real[:1].expand(n, -1, -1, -1), data, 64), params)
    diverse = METRICS["ms_ssim"](EvalContext(lambda n: real[:n], data, 64), params)
    assert collapsed["quality"] == pytest.approx(1.0, abs=1e-4)
    assert diverse["quality"] < 0.9 * collapsed["quality"]
    assert 0 < diverse["ms_ssim_real"] < 1 and diverse["scales"] == fitting_scales(8, 8, window_size(0.3))
    # the collapse reading: identical samples are its maximum, 1; real images are ~0 (the
    # generator here draws real digits, the reference another draw of them)
    assert collapsed["collapse"] == pytest.approx(1.0, abs=1e-3)
    assert abs(diverse["collapse"]) < 0.2 < collapsed["collapse"]


def test_the_collapse_reading_is_worked_by_hand():
    """(quality - real) / (1 - real): real pairs at 0.2, samples at 0.6 -> 0.4 / 0.8 = 0.5."""
    assert collapse_signal(0.6, 0.2) == pytest.approx(0.5)
    assert collapse_signal(1.0, 0.2) == pytest.approx(1.0)  # every sample the same image: the maximum
    assert collapse_signal(0.2, 0.2) == pytest.approx(0.0)  # as alike as real images
    assert collapse_signal(0.1, 0.2) == pytest.approx(-0.125)  # less alike than real images (noise)
    assert collapse_signal(0.9, 1.0) != collapse_signal(0.9, 1.0)  # nan: no scale when real images are all alike


def test_pairs_never_compare_an_image_with_itself():
    x = torch.rand(2, 1, 16, 16)  # two different noise images: every pair is (0, 1) or (1, 0)
    params = MSSSIMParams(sigma=0.3)
    value, _ = mean_pair_ms_ssim(x, 50, params, seed=0)
    once, _ = mean_pair_ms_ssim(x, 1, params, seed=0)
    assert value == pytest.approx(once, rel=1e-5) and value < 0.9  # (i, i) would score 1


def test_bad_parameters_are_config_errors():
    base = {"method": {"name": "nsgan"}, "data": {"name": "digits"}, "eval": {"metrics": ["ms_ssim"]}}
    with pytest.raises(ConfigError, match="eval.params.ms_ssim.sigma"):
        build_config({**base, "eval": {"metrics": ["ms_ssim"], "params": {"ms_ssim": {"sigma": 0}}}})
    with pytest.raises(ConfigError, match="scales must be at most 5"):
        build_config({**base, "eval": {"metrics": ["ms_ssim"], "params": {"ms_ssim": {"scales": 6}}}})
