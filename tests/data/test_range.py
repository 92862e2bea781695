"""data.range: what the nets train on ([0, 1], [-1, 1] or standardised), and the metrics
seeing the same [0, 1] images whatever the range (one map back, ``to_unit``, where samples
leave the generator)."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from aegan.config import ConfigError, build_config
from aegan.data import DATASETS, MissingDataset, build_dataset
from aegan.metrics import evaluate
from aegan.metrics.classifier import WeightsError
from aegan.train import Trainer
from tests.conftest import tiny_raw


def digits(data_range: str, seed: int = 0):
    return build_dataset("digits", DATASETS["digits"][0](range=data_range), seed, torch.device("cpu"))


@pytest.mark.parametrize("data_range, low, high", [("unit", 0.0, 1.0), ("symmetric", -1.0, 1.0)])
def test_training_batches_are_the_same_pixels_in_the_range(data_range, low, high):
    served, ranged = digits("unit"), digits(data_range)
    x, y = served.next_batch(512), ranged.training_batch(512)  # the same seed: the same images
    assert torch.equal(x.y, y.y)
    assert_close(y.x, 2 * x.x - 1 if data_range == "symmetric" else x.x)
    assert float(y.x.min()) == low and float(y.x.max()) == high
    assert torch.equal(ranged.sample(64, 3).x, served.sample(64, 3).x)  # metrics' real data stay in [0, 1]


def test_standardised_batches_have_zero_mean_and_unit_std_per_channel():
    """002 Sec. 4.1: "normalized to have zero means and unit standard deviations based on the
    mean and standard deviation of the training set"."""
    data = digits("standard")
    x = torch.cat([data.training_batch(1000).x for _ in range(5)])
    assert abs(float(x.mean())) < 0.02 and abs(float(x.std()) - 1) < 0.02
    mean, std = data.standard_statistics()
    assert mean.shape == (1,) and float(mean) > 0.2  # digits: the training split's own statistics
    assert torch.equal(digits("standard", seed=5).standard_statistics()[0], mean)  # not the run's seed


@pytest.mark.parametrize("data_range", ["unit", "symmetric", "standard"])
def test_to_unit_inverts_to_range(data_range):
    data = digits(data_range)
    x = data.next_batch(64).x
    assert_close(data.to_unit(data.to_range(x)), x)
    far = data.to_range(x) + 10
    if data_range == "unit":  # the identity: a [0, 1] run's samples reach the metrics as before
        assert data.to_unit(far) is far
    else:
        assert float(data.to_unit(far).max()) == 1.0  # clamped, as an 8-bit image would be


def test_vectors_take_no_range():
    with pytest.raises(ConfigError, match="data.range: symmetric maps image pixels"):
        build_config(tiny_raw(**{"data.range": "symmetric"}))


def _mnist_trainer(tmp_path, data_range: str, pixels: torch.Tensor) -> Trainer:
    """A run on MNIST whose generator returns ``pixels`` (in [0, 1]) written in ``data_range``."""
    raw = tiny_raw(**{"data.name": "mnist", "data.range": data_range, "model.latent_dim": 4, "eval.metrics": []})
    trainer = Trainer(build_config(raw), tmp_path / data_range)
    in_range = trainer.data.to_range(pixels)
    trainer.method.generate = lambda nets, z: in_range[: len(z)]
    return trainer


def test_the_metrics_see_the_same_images_for_a_unit_and_a_symmetric_run(tmp_path):
    """The same pixels generated as [0, 1] (sigmoid) and as [-1, 1] (tanh) runs: the samples,
    the classifier's MODE score and FID (on 8-bit images) are the same."""
    try:
        real = build_dataset("mnist", DATASETS["mnist"][0](), 0, torch.device("cpu")).sample(12, 1).x
    except MissingDataset:
        pytest.skip("MNIST: aegan assets --fetch")
    runs = [_mnist_trainer(tmp_path, r, real) for r in ("unit", "symmetric")]
    assert float(runs[1].data.to_range(real).min()) == -1.0  # the symmetric run's G does give [-1, 1]
    samples = [t.generate(12, 0) for t in runs]
    assert torch.equal(samples[0], real)
    assert_close(samples[1], real, atol=1e-6, rtol=0)  # (2x - 1 + 1) / 2: x up to float rounding
    assert torch.equal((samples[1] * 255).round(), (real * 255).round())  # the same 8-bit images
    params = {"mode_score": {}, "fid": {"n_real": 12, "kid_subsets": 2, "kid_subset_size": 12, "batch_size": 12,
                                         "device": "cpu"}}
    names = ["mode_score"]
    try:
        from aegan.metrics.fid import default_weights

        default_weights()
        names.append("fid")
    except WeightsError:
        pass
    scores = [evaluate(t._eval_context(12), names, params) for t in runs]
    assert "mode_score/mode_score" in scores[0] and scores[0].keys() == scores[1].keys()
    for key, value in scores[0].items():
        if isinstance(value, float):
            assert value == pytest.approx(scores[1][key], rel=1e-5, abs=1e-6), key
        else:  # the weights' digests, sample counts
            assert value == scores[1][key], key
