"""Natural images: CIFAR-10/100, SVHN, STL-10, CelebA and any folder of PNG/JPEG/WebP images.

Every batch is float in [0, 1], shape (N, C, H, W), as the other image datasets
(``aegan.data.images``; ``data.range`` maps what the nets train on: ``aegan.data.base``);
labels are in ``Batch.y`` where the dataset has them (``None`` for CelebA, STL-10's
unlabelled part and a folder without class sub-folders).

Sources are torchvision's on-disk layouts under ``data.root`` (docs/datasets.md lists the
files). Nothing is downloaded unless ``data.download: true`` (CIFAR, SVHN, STL-10, CelebA),
and then only through torchvision's download helpers; otherwise an absent or incomplete
dataset is a ``MissingDataset`` that names the files to put where, raised when the dataset
is built, i.e. before the first training step. A file that cannot be read (a truncated
pickle, a corrupt JPEG) is a ``CorruptDataset`` naming it.

Pickled CIFAR batches are read by ``_NumpyOnlyUnpickler`` (numpy arrays, dicts, lists,
strings and numbers only: a pickle that would run code is refused). SVHN's .mat files need
scipy (``scipy.io.loadmat``).

Decoding, cropping and resizing happen once: each part of a dataset (CIFAR's training
batches, CelebA's images, ...) becomes a uint8 cache entry (``aegan.data.cache``) that is
memory-mapped by every later run. Resizing uses PIL (``resample``, bilinear by default:
what torchvision's ``Resize`` does to PIL images, antialiased when shrinking); CelebA
follows DCGAN: a centred ``crop`` x ``crop`` square (108) of the 178 x 218 aligned image,
resized to ``resolution`` (64).

Data order: ``next_batch`` draws indices uniformly with replacement from the dataset's own
seeded generator, as ``ImageSource`` does, so the checkpointed generator state makes a
resumed run see the same batches (bit-identical).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Literal, Sequence

import numpy as np
import torch
from pydantic import Field, NonNegativeInt, PositiveInt, field_validator, model_validator

from aegan.data.base import DataConfig, DataSource, MissingDataset, register_dataset
from aegan.data.cache import Cached, digest, file_entries, load_or_build
from aegan.data.cache import FORMAT as CACHE_FORMAT
from aegan.data.images import _NumpyOnlyUnpickler
from aegan.batch import Batch

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
BLOCK = 256  # images decoded per block (threads share a block)


class CorruptDataset(MissingDataset):
    """A dataset file exists but cannot be read; the message names it (exit 2 like a missing one)."""


# -- configs ---------------------------------------------------------------------------------
Resample = Literal["bilinear", "bicubic", "lanczos", "box", "nearest"]


class NaturalConfig(DataConfig):
    num_classes: ClassVar[int] = 0  # labelled datasets: labels are 0 .. num_classes - 1

    root: str | None = None  # torchvision's root directory (the folder that holds cifar-10-batches-py/ ...)
    download: bool = False  # let torchvision download into root (nothing is downloaded otherwise)
    resolution: int = Field(32, ge=4, le=1024)  # side of the square images the nets see
    resample: Resample = "bilinear"  # PIL's filter when the size changes
    classes: list[NonNegativeInt] | None = None  # keep only these labels
    cache_dir: str | None = None  # decoded uint8 cache (default $AEGAN_CACHE/datasets, ~/.cache/aegan/datasets)

    @field_validator("classes")
    @classmethod
    def _classes(cls, v):
        if v is not None and (not v or (cls.num_classes and any(c >= cls.num_classes for c in v))):
            raise ValueError(f"classes must be a non-empty list of labels 0..{cls.num_classes - 1}, got {v}")
        return v


class CifarConfig(NaturalConfig):
    num_classes: ClassVar[int] = 10
    split: Literal["train", "test"] = "train"
    held_out_split: Literal["train", "test"] = "test"


class Cifar100Config(CifarConfig):
    num_classes: ClassVar[int] = 100


SvhnSplit = Literal["train", "test", "extra", "train+extra"]


class SvhnConfig(NaturalConfig):
    num_classes: ClassVar[int] = 10
    split: SvhnSplit = "train"
    held_out_split: SvhnSplit = "test"


StlSplit = Literal["train", "test", "unlabeled", "train+unlabeled"]


class Stl10Config(NaturalConfig):
    """STL-10 at 48 x 48 (or 32) as the GAN papers use it: ``train+unlabeled`` = 105,000 images."""

    num_classes: ClassVar[int] = 10
    split: StlSplit = "train+unlabeled"
    held_out_split: StlSplit = "test"
    resolution: int = Field(48, ge=4, le=1024)


CelebaSplit = Literal["train", "valid", "test", "train+valid", "all"]


class CelebaConfig(NaturalConfig):
    """CelebA's aligned images: a centred ``crop`` square (None: 178, the whole width), resized."""

    split: CelebaSplit = "train"
    held_out_split: CelebaSplit = "test"
    resolution: int = Field(64, ge=4, le=1024)
    crop: int | None = Field(108, ge=1, le=178)
    classes: None = None  # CelebA has no class labels here


class ImageFolderConfig(NaturalConfig):
    """Any tree of PNG/JPEG/WebP images under ``root``; labels from top-level sub-folders.

    ``held_out_fraction`` keeps a fixed share of the images out of training, for the metrics
    (FID against images the model never saw, the third-party D's held-out data): an image is
    held out when a hash of its path below ``root`` falls under the fraction, so adding images
    to the folder never moves an earlier one between the splits."""

    split: Literal["train"] = "train"  # the images not held out (all of them when held_out_fraction is 0)
    held_out_split: Literal["train", "held_out"] = "train"  # "held_out" with held_out_fraction > 0 (its default then)
    held_out_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    resolution: int = Field(64, ge=4, le=1024)
    crop: Literal["center", "none"] = "center"  # center: the centred square of the shorter side; none: squash
    channels: Literal[1, 3] = 3  # 3: RGB, 1: grey
    max_images: PositiveInt | None = None  # a fixed random subset (seed 0) of this many images
    download: Literal[False] = False

    @model_validator(mode="before")
    @classmethod
    def _held_out_by_default(cls, raw: Any) -> Any:
        """held_out_fraction > 0 without a held_out_split: the metrics use the held-out images."""
        if isinstance(raw, dict) and raw.get("held_out_fraction") and "held_out_split" not in raw:
            return {**raw, "held_out_split": "held_out"}
        return raw

    @model_validator(mode="after")
    def _fraction_for_held_out(self) -> "ImageFolderConfig":
        if self.held_out_split == "held_out" and not self.held_out_fraction:
            raise ValueError("held_out_split: 'held_out' needs held_out_fraction > 0 (e.g. 0.1), "
                             "or held_out_split: train")
        return self


# -- image helpers -----------------------------------------------------------------------------
def _resample(name: str) -> int:
    from PIL import Image

    return {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
            "lanczos": Image.Resampling.LANCZOS, "box": Image.Resampling.BOX,
            "nearest": Image.Resampling.NEAREST}[name]


def centre_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """The centred size x size square (torchvision's ``center_crop`` rounding)."""
    left, top = int(round((width - size) / 2.0)), int(round((height - size) / 2.0))
    return left, top, left + size, top + size


def decode_image(path: Path, resolution: int, crop: int | str | None, channels: int = 3,
                 resample: str = "bilinear") -> np.ndarray:
    """One image file -> (channels, resolution, resolution) uint8. ``crop``: a side in
    pixels (centred), "center" (the centred square of the shorter side) or None/"none"."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB" if channels == 3 else "L")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise CorruptDataset(f"{path}: not a readable image ({err}); replace or remove it") from None
    w, h = im.size
    if crop == "center":
        crop = min(w, h)
    if isinstance(crop, int):
        if crop > min(w, h):
            raise CorruptDataset(f"{path}: {w} x {h} pixels, smaller than data.crop = {crop}")
        im = im.crop(centre_box(w, h, crop))
    if im.size != (resolution, resolution):
        im = im.resize((resolution, resolution), resample=_resample(resample))
    arr = np.asarray(im, dtype=np.uint8)
    return arr.transpose(2, 0, 1) if arr.ndim == 3 else arr[None]


def resize_array(x: np.ndarray, resolution: int, resample: str) -> np.ndarray:
    """(C, H, W) uint8 -> (C, resolution, resolution) uint8 through PIL."""
    from PIL import Image

    if x.shape[1:] == (resolution, resolution):
        return x
    im = Image.fromarray(np.ascontiguousarray(x.transpose(1, 2, 0)))
    return np.asarray(im.resize((resolution, resolution), resample=_resample(resample)),
                      dtype=np.uint8).transpose(2, 0, 1)


def _threads() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def map_blocks(fn: Callable[[Any], np.ndarray], items: Sequence[Any], block: int = BLOCK) -> Iterator[np.ndarray]:
    """fn over items in order, in blocks of ``block`` stacked results, decoded by a few threads
    (PIL releases the GIL while it decodes and resizes)."""
    with ThreadPoolExecutor(_threads()) as pool:
        for i in range(0, len(items), block):
            yield np.stack(list(pool.map(fn, items[i: i + block])))


def resized_blocks(x: np.ndarray, resolution: int, resample: str) -> Iterator[np.ndarray]:
    """(N, C, H, W) uint8 (an array or a memory map) in blocks, resized where needed."""
    if x.shape[2:] == (resolution, resolution):
        for i in range(0, len(x), 4096):
            yield np.ascontiguousarray(x[i: i + 4096])
        return
    yield from map_blocks(lambda i: resize_array(np.asarray(x[i]), resolution, resample), range(len(x)))


# -- a split as rows of cached parts -------------------------------------------------------------
class SplitView:
    """The images of one split: rows of one or more cached parts, indexed 0..n-1 without a copy."""

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray]], rows: list[np.ndarray | None]):
        self.arrays = [x for x, _ in parts]
        self.rows = [np.arange(len(x)) if r is None else np.asarray(r, dtype=np.int64) for (x, _), r in zip(parts, rows)]
        self.offsets = np.cumsum([0] + [len(r) for r in self.rows])
        self.n = int(self.offsets[-1])
        self.labels = np.concatenate([y[r] for (_, y), r in zip(parts, self.rows)]) if parts else np.zeros(0, np.int64)
        self.item_shape = tuple(self.arrays[0].shape[1:])

    def __len__(self) -> int:
        return self.n

    def gather(self, idx: np.ndarray) -> np.ndarray:
        """Images at ``idx`` (any order, repeats allowed) as a (k, C, H, W) uint8 array."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((len(idx), *self.item_shape), dtype=np.uint8)
        which = np.searchsorted(self.offsets, idx, side="right") - 1
        for p in np.unique(which):
            mask = which == p
            out[mask] = self.arrays[p][self.rows[p][idx[mask] - self.offsets[p]]]
        return out

    def labelled(self) -> bool:
        return self.n > 0 and bool((self.labels >= 0).all())


# -- the source -------------------------------------------------------------------------------------
class NaturalSource(DataSource):
    """Base of the natural-image datasets: locate (or download) the files of the parts that
    the training and held-out splits need, cache each part decoded, serve batches."""

    title: ClassVar[str] = ""
    SPLITS: ClassVar[dict[str, tuple[str, ...]]] = {}  # split -> parts
    CHANNELS: ClassVar[int] = 3

    def __init__(self, config: NaturalConfig, seed: int, device: torch.device, name: str):
        super().__init__(seed, device)
        self.config, self.name, self.protocol = config, name, name
        self.root = Path(config.root or "DIR").expanduser()
        if config.root is None:
            raise MissingDataset(f"{self.title}: data.root is not set (--data.root=DIR); {self.layout_hint()}")
        self._files: dict[str, list[Path]] = {}
        self._keys: dict[str, dict[str, Any]] = {}
        self._parts: dict[str, Cached] = {}
        self._views: dict[str, SplitView] = {}
        self.locate({part for split in (config.split, config.held_out_split) for part in self.SPLITS[split]})
        self.source_digest = digest({part: self._keys[part] for part in sorted(self._keys)})
        view = self.view(config.split)
        self.shape = (self.CHANNELS, config.resolution, config.resolution)
        self.num_classes = config.num_classes or None
        self._labels_dev = torch.from_numpy(view.labels).to(self.device) if view.labelled() else None
        # on an accelerator the split lives in its memory as uint8 (like ImageSource); on the CPU
        # batches are gathered from the memory map (the page cache keeps it in memory)
        self._images_dev = torch.from_numpy(view.gather(np.arange(len(view)))).to(self.device) \
            if self.device.type != "cpu" else None

    # -- what each dataset defines
    def expected(self, part: str) -> list[Path]:
        """The files of ``part`` (may raise ``MissingDataset`` when an index file is absent)."""
        raise NotImplementedError

    def read(self, part: str, files: list[Path]) -> tuple[np.ndarray, Iterator[np.ndarray]]:
        """(labels, blocks of uint8 images) of ``part``, decoded and resized."""
        raise NotImplementedError

    def rows(self, split: str, part: str, cached: Cached) -> np.ndarray | None:
        """The rows of ``part`` that belong to ``split`` (None: all)."""
        return None

    def layout_hint(self) -> str:
        raise NotImplementedError

    def fetch(self) -> None:
        """Download with torchvision into ``root`` (``data.download: true`` only)."""
        raise MissingDataset(f"{self.title}: cannot be downloaded; {self.layout_hint()}")

    def preprocessing(self) -> dict[str, Any]:
        # the cache holds the decoded uint8 pixels: the same for every data.range
        return self.config.model_dump(exclude={"root", "download", "split", "held_out_split", "classes", "cache_dir",
                                               "range"})

    # -- shared
    def locate(self, parts: set[str]) -> None:
        """Find the files of ``parts`` (downloading them if asked); raise ``MissingDataset`` naming what is absent."""
        def missing() -> list[Path]:
            out = []
            order = list(dict.fromkeys(p for split_parts in self.SPLITS.values() for p in split_parts))
            for part in sorted(parts, key=order.index):
                self._files[part] = self.expected(part)
                out += [f for f in self._files[part] if not f.is_file()]
            return out

        try:
            absent = missing()
        except MissingDataset:
            if not self.config.download:
                raise
            absent = None
        if absent != [] and self.config.download:
            self._download()
            absent = missing()
        if absent:
            shown = ", ".join(str(p) for p in absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
            raise MissingDataset(f"{self.title} incomplete or absent: missing {shown}; {self.layout_hint()}")
        for part in parts:
            self._keys[part] = {"format": CACHE_FORMAT, "dataset": self.name, "part": part,
                                "root": str(self.root.resolve()), "preprocessing": self.preprocessing(),
                                "files": file_entries(self._files[part], self.root)}

    def _download(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.fetch()
        except MissingDataset:
            raise
        except Exception as err:  # network, checksum, a missing optional package (gdown)
            raise MissingDataset(f"{self.title}: download into {self.root} failed ({type(err).__name__}: {err}); "
                                 f"{self.layout_hint()}") from None

    def part(self, part: str) -> Cached:
        if part not in self._parts:
            if part not in self._keys:
                self.locate({part})
            files = self._files[part]
            self._parts[part] = load_or_build(f"{self.name}_{part}", self._keys[part], self.shape_of(),
                                              lambda: self.read(part, files), self.config.cache_dir,
                                              desc=f"{self.name} {part}")
        return self._parts[part]

    def shape_of(self) -> tuple[int, int, int]:
        return (self.CHANNELS, self.config.resolution, self.config.resolution)

    def view(self, split: str) -> SplitView:
        if split not in self._views:
            parts, rows = [], []
            for name in self.SPLITS[split]:
                cached = self.part(name)
                r = self.rows(split, name, cached)
                if self.config.classes is not None:
                    keep = np.isin(cached.y, self.config.classes)
                    r = np.flatnonzero(keep) if r is None else r[keep[r]]
                parts.append((cached.x, cached.y))
                rows.append(r)
            view = SplitView(parts, rows)
            if len(view) == 0:
                what = f" of classes {self.config.classes}" if self.config.classes is not None else ""
                raise MissingDataset(f"{self.title}: split {split!r} holds no images{what} under {self.root}")
            self._views[split] = view
        return self._views[split]

    def next_batch(self, n: int) -> Batch:
        view = self.view(self.config.split)
        idx = torch.randint(len(view), (n,), generator=self.rng)
        if self._images_dev is not None:
            idx_dev = idx.to(self.device)
            x = self._images_dev[idx_dev]
        else:
            x = torch.from_numpy(view.gather(idx.numpy()))
        y = self._labels_dev[idx.to(self.device)] if self._labels_dev is not None else None
        return Batch(x.float() / 255.0, y)

    def sample(self, n: int | None, seed: int, split: str | None = None) -> Batch:
        """Real images of ``split`` (default: the training split) on the CPU: all of them
        (n=None), or n drawn with replacement by a generator seeded with ``seed``."""
        view = self.view(split or self.config.split)
        if n is None:
            idx = torch.arange(len(view))
        else:
            idx = torch.randint(len(view), (n,), generator=torch.Generator().manual_seed(seed))
        x = torch.from_numpy(view.gather(idx.numpy())).float() / 255.0
        return Batch(x, torch.from_numpy(view.labels[idx.numpy()]) if view.labelled() else None)

    def held_out(self, n: int | None = None, seed: int = 0) -> Batch:
        """Real images of ``held_out_split`` (all of them by default), for metrics."""
        return self.sample(n, seed, self.config.held_out_split)

    def split_size(self, split: str | None = None) -> int:
        return len(self.view(split or self.config.split))

    def describe(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "shape": list(self.shape), "n_train": len(self.view(self.config.split)),
                "source_sha": self.source_digest, **self.config.model_dump(exclude={"cache_dir"})}


# -- CIFAR ------------------------------------------------------------------------------------------
class CifarUnpickler(_NumpyOnlyUnpickler):
    """numpy arrays, and ``_codecs.encode`` (how a Python 3 protocol-2 pickle writes bytes; it
    only converts a string to bytes), nothing else: the CIFAR pickles hold dicts of arrays,
    lists and strings."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):
            import _codecs

            return _codecs.encode
        try:
            return super().find_class(module, name)
        except pickle.UnpicklingError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: a CIFAR batch holds numpy arrays, "
                                         "lists and strings only") from None


def read_cifar_pickle(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR batch -> ((N, 3, 32, 32) uint8, (N,) int64), without running code."""
    try:
        with open(path, "rb") as f:
            entry = CifarUnpickler(f, encoding="latin1").load()
        entry = {(k.decode() if isinstance(k, bytes) else k): v for k, v in entry.items()}
        data = np.asarray(entry["data"])
        labels = np.asarray(entry[label_key], dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
            raise ValueError(f"data {data.dtype} {data.shape} with {len(labels)} labels, expected uint8 (N, 3072)")
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, AttributeError, TypeError, IndexError) as err:
        raise CorruptDataset(f"{path}: not a CIFAR batch ({type(err).__name__}: {err}); replace it with the file "
                             "from the official archive") from None
    return data.reshape(-1, 3, 32, 32), labels


class Cifar(NaturalSource):
    FOLDER: ClassVar[str] = "cifar-10-batches-py"
    FILES: ClassVar[dict[str, tuple[str, ...]]] = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)),
                                                   "test": ("test_batch",)}
    LABEL_KEY: ClassVar[str] = "labels"
    ARCHIVE: ClassVar[str] = "cifar-10-python.tar.gz"
    title = "CIFAR-10"
    SPLITS = {"train": ("train",), "test": ("test",)}

    def folder(self) -> Path:
        return self.root if self.root.name == self.FOLDER else self.root / self.FOLDER

    def expected(self, part):
        return [self.folder() / name for name in self.FILES[part]]

    def read(self, part, files):
        arrays = [read_cifar_pickle(f, self.LABEL_KEY) for f in files]
        x = np.concatenate([a for a, _ in arrays])
        return np.concatenate([b for _, b in arrays]), resized_blocks(x, self.config.resolution, self.config.resample)

    def layout_hint(self):
        names = ", ".join(n for files in self.FILES.values() for n in files)
        return (f"put {names} (torchvision's layout: the extracted {self.ARCHIVE} from "
                f"https://www.cs.toronto.edu/~kriz/cifar.html) in {self.root}/{self.FOLDER}/, "
                "or set data.download: true to let torchvision download it there")

    def fetch(self):
        from torchvision.datasets import CIFAR10, CIFAR100
        from torchvision.datasets.utils import download_and_extract_archive

        cls = CIFAR10 if self.name == "cifar10" else CIFAR100
        download_and_extract_archive(cls.url, str(self.root), filename=cls.filename, md5=cls.tgz_md5)


class Cifar100(Cifar):
    FOLDER = "cifar-100-python"
    FILES = {"train": ("train",), "test": ("test",)}
    LABEL_KEY = "fine_labels"
    ARCHIVE = "cifar-100-python.tar.gz"
    title = "CIFAR-100"


# -- SVHN -------------------------------------------------------------------------------------------
class Svhn(NaturalSource):
    title = "SVHN"
    SPLITS = {"train": ("train",), "test": ("test",), "extra": ("extra",), "train+extra": ("train", "extra")}

    def expected(self, part):
        return [self.root / f"{part}_32x32.mat"]

    def read(self, part, files):
        try:
            from scipy.io import loadmat
        except ImportError:
            raise MissingDataset("SVHN's .mat files are read with scipy: pip install scipy") from None
        path = files[0]
        try:
            mat = loadmat(str(path))
            x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).astype(np.int64).reshape(-1)
            if x.dtype != np.uint8 or x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
                raise ValueError(f"X {x.dtype} {x.shape} with {len(y)} labels, expected uint8 (32, 32, 3, N)")
        except Exception as err:  # scipy raises many kinds (MatReadError, IndexError, ...) on a damaged file
            raise CorruptDataset(f"{path}: not an SVHN .mat file ({type(err).__name__}: {err}); replace it with "
                                 "the file from http://ufldl.stanford.edu/housenumbers/") from None
        y[y == 10] = 0  # SVHN writes the digit 0 as label 10 (torchvision maps it to 0 too)
        return y, resized_blocks(x.transpose(3, 2, 0, 1), self.config.resolution, self.config.resample)

    def layout_hint(self):
        return ("put train_32x32.mat and test_32x32.mat (and extra_32x32.mat for the extra split; torchvision's "
                f"layout, the files of http://ufldl.stanford.edu/housenumbers/) in {self.root}/, "
                "or set data.download: true to let torchvision download them there")

    def fetch(self):
        from torchvision.datasets import SVHN
        from torchvision.datasets.utils import download_url

        for split in {p for s in (self.config.split, self.config.held_out_split) for p in self.SPLITS[s]}:
            url, filename, md5 = SVHN.split_list[split]
            download_url(url, str(self.root), filename, md5)


# -- STL-10 -----------------------------------------------------------------------------------------
STL_SIDE = 96
STL_BYTES = 3 * STL_SIDE * STL_SIDE


class Stl10(NaturalSource):
    title = "STL-10"
    FOLDER = "stl10_binary"
    SPLITS = {"train": ("train",), "test": ("test",), "unlabeled": ("unlabeled",),
              "train+unlabeled": ("train", "unlabeled")}

    def folder(self) -> Path:
        return self.root if self.root.name == self.FOLDER else self.root / self.FOLDER

    def expected(self, part):
        names = [f"{part}_X.bin"] + ([f"{part}_y.bin"] if part != "unlabeled" else [])
        return [self.folder() / n for n in names]

    def read(self, part, files):
        x_path = files[0]
        size = x_path.stat().st_size
        if size == 0 or size % STL_BYTES:
            raise CorruptDataset(f"{x_path}: {size} bytes, not a whole number of 3 x 96 x 96 images; "
                                 "replace it with the file from the official stl10_binary.tar.gz")
        n = size // STL_BYTES
        # column-major images (Matlab order): (N, 3, W, H) -> (N, 3, H, W)
        x = np.memmap(x_path, dtype=np.uint8, mode="r", shape=(n, 3, STL_SIDE, STL_SIDE)).transpose(0, 1, 3, 2)
        if part == "unlabeled":
            y = np.full(n, -1, dtype=np.int64)
        else:
            y = np.fromfile(files[1], dtype=np.uint8).astype(np.int64) - 1  # labels 1..10 on disk
            if len(y) != n or (y < 0).any() or (y > 9).any():
                raise CorruptDataset(f"{files[1]}: {len(y)} labels for {n} images (or labels outside 1..10)")
        return y, resized_blocks(x, self.config.resolution, self.config.resample)

    def layout_hint(self):
        return (f"put train_X.bin, train_y.bin, test_X.bin, test_y.bin and unlabeled_X.bin (torchvision's layout: "
                f"the extracted stl10_binary.tar.gz of https://cs.stanford.edu/~acoates/stl10/) in "
                f"{self.root}/{self.FOLDER}/, or set data.download: true to let torchvision download it there")

    def fetch(self):
        from torchvision.datasets import STL10
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(STL10.url, str(self.root), filename=STL10.filename, md5=STL10.tgz_md5)


# -- CelebA -----------------------------------------------------------------------------------------
class Celeba(NaturalSource):
    title = "CelebA"
    FOLDER = "celeba"
    PARTITION = "list_eval_partition.txt"
    SPLITS = {"train": ("all",), "valid": ("all",), "test": ("all",), "train+valid": ("all",), "all": ("all",)}
    SPLIT_IDS = {"train": (0,), "valid": (1,), "test": (2,), "train+valid": (0, 1), "all": (0, 1, 2)}

    def folder(self) -> Path:
        return self.root if self.root.name == self.FOLDER else self.root / self.FOLDER

    def partition(self) -> tuple[list[str], np.ndarray]:
        """(image names, partition ids) of list_eval_partition.txt, in its order."""
        path = self.folder() / self.PARTITION
        if not path.is_file():
            raise MissingDataset(f"CelebA incomplete or absent: missing {path}; {self.layout_hint()}")
        names, ids = [], []
        for i, line in enumerate(path.read_text().splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise CorruptDataset(f"{path}:{i}: expected '<image>.jpg <0|1|2>', got {line.strip()!r}")
            names.append(fields[0])
            ids.append(int(fields[1]))
        if not names:
            raise CorruptDataset(f"{path}: lists no images")
        return names, np.asarray(ids, dtype=np.int64)

    def expected(self, part):
        names, self._split_ids = self.partition()
        return [self.folder() / "img_align_celeba" / n for n in names]

    def read(self, part, files):
        c = self.config
        fn = lambda p: decode_image(p, c.resolution, c.crop if c.crop is not None else "center", 3, c.resample)  # noqa: E731
        return np.full(len(files), -1, dtype=np.int64), map_blocks(fn, files)

    def rows(self, split, part, cached):
        return np.flatnonzero(np.isin(self._split_ids, self.SPLIT_IDS[split]))

    def layout_hint(self):
        return (f"put img_align_celeba/ (the aligned JPEGs, 000001.jpg ...) and {self.PARTITION} in "
                f"{self.root}/{self.FOLDER}/ (torchvision's layout; the files of "
                "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html), or set data.download: true to let "
                "torchvision download them there (Google Drive; needs the gdown package)")

    def fetch(self):
        from torchvision.datasets import CelebA

        CelebA(str(self.root), split="all", target_type=[], download=True)


# -- image folder -----------------------------------------------------------------------------------
class ImageFolder(NaturalSource):
    title = "image folder"
    SPLITS = {"train": ("all",), "held_out": ("all",)}  # one decoded part; rows() splits it

    @property
    def CHANNELS(self) -> int:  # noqa: N802 (the base reads a class constant)
        return self.config.channels

    def expected(self, part):
        if not self.root.is_dir():
            raise MissingDataset(f"image folder {self.root} does not exist; {self.layout_hint()}")
        files = sorted((p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                        and not any(s.startswith(".") for s in p.relative_to(self.root).parts) and p.is_file()),
                       key=lambda p: p.relative_to(self.root).as_posix())
        if not files:
            raise MissingDataset(f"no images under {self.root}; {self.layout_hint()}")
        limit = self.config.max_images
        if limit is not None and len(files) > limit:
            keep = np.sort(np.random.default_rng(0).choice(len(files), limit, replace=False))
            files = [files[i] for i in keep]
        return files

    def read(self, part, files):
        c = self.config
        rel = [f.relative_to(self.root).parts for f in files]
        if all(len(r) > 1 for r in rel):  # every image in a sub-folder: the top-level folder is its class
            names = sorted({r[0] for r in rel})
            labels = np.asarray([names.index(r[0]) for r in rel], dtype=np.int64)
        else:
            labels = np.full(len(files), -1, dtype=np.int64)
        crop = "center" if c.crop == "center" else None
        return labels, map_blocks(lambda p: decode_image(p, c.resolution, crop, c.channels, c.resample), files)

    def rows(self, split, part, cached):
        fraction = self.config.held_out_fraction
        if not fraction:
            return None
        held = np.asarray([held_out_score(f.relative_to(self.root)) < fraction for f in self._files[part]])
        return np.flatnonzero(held if split == "held_out" else ~held)

    def preprocessing(self):  # the split is by rows of one decoded part: its cache serves any fraction
        return {k: v for k, v in super().preprocessing().items() if k != "held_out_fraction"}

    def layout_hint(self):
        return ("data.root must be a directory of .png/.jpg/.jpeg/.webp images, at any depth; when every image "
                "lies in a sub-folder, the top-level sub-folders are the classes (sorted: label 0, 1, ...)")


def held_out_score(relative: Path) -> float:
    """A file's place in [0, 1) by the SHA-256 of its path below the root (POSIX form): the
    image is held out when this is below ``held_out_fraction``."""
    return int(hashlib.sha256(relative.as_posix().encode()).hexdigest()[:12], 16) / 16**12


def _builder(cls: type[NaturalSource], name: str):
    return lambda config, seed, device: cls(config, seed, device, name)


register_dataset("cifar10", CifarConfig, _builder(Cifar, "cifar10"))
register_dataset("cifar100", Cifar100Config, _builder(Cifar100, "cifar100"))
register_dataset("svhn", SvhnConfig, _builder(Svhn, "svhn"))
register_dataset("stl10", Stl10Config, _builder(Stl10, "stl10"))
register_dataset("celeba", CelebaConfig, _builder(Celeba, "celeba"))
register_dataset("image_folder", ImageFolderConfig, _builder(ImageFolder, "image_folder"))
