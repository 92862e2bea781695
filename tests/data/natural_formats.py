"""Writers of tiny datasets in each real on-disk format (torchvision's layouts), for tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def _pixels(n: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_cifar(root: Path, per_batch: int = 4, cifar100: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """cifar-10-batches-py/data_batch_1..5 + test_batch (or cifar-100-python/train, test):
    pickles of dicts with bytes keys, data (N, 3072) uint8 in CHW order; returns the
    (N, 3, 32, 32) images and labels per split."""
    folder = root / ("cifar-100-python" if cifar100 else "cifar-10-batches-py")
    folder.mkdir(parents=True, exist_ok=True)
    files = {"train": ["train"], "test": ["test"]} if cifar100 else \
        {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    out = {}
    for s, (split, names) in enumerate(files.items()):
        xs, ys = [], []
        for k, name in enumerate(names):
            n = per_batch * (5 if cifar100 and split == "train" else 1)
            x = _pixels(n, (3072,), seed=100 * s + k)
            y = [int(v) for v in np.random.default_rng(k).integers(0, 100 if cifar100 else 10, n)]
            entry = {b"batch_label": f"{name} of 5".encode(), b"data": x, b"filenames": [b"x.png"] * n}
            entry[b"fine_labels" if cifar100 else b"labels"] = y
            if cifar100:
                entry[b"coarse_labels"] = [v // 5 for v in y]
            with open(folder / name, "wb") as f:
                pickle.dump(entry, f, protocol=2)
            xs.append(x.reshape(-1, 3, 32, 32))
            ys.append(np.asarray(y))
        out[split] = (np.concatenate(xs), np.concatenate(ys))
    return out


def write_svhn(root: Path, n: int = 6) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train_32x32.mat, test_32x32.mat: X (32, 32, 3, N) uint8, y (N, 1) with 10 for the digit 0."""
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, split in enumerate(("train", "test")):
        x = _pixels(n, (3, 32, 32), seed=10 + k)  # (N, C, H, W)
        digits = np.arange(n) % 10
        savemat(str(root / f"{split}_32x32.mat"),
                {"X": x.transpose(2, 3, 1, 0), "y": np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]})
        out[split] = (x, digits)
    return out


def write_stl10(root: Path, n: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """stl10_binary/{train,test}_{X,y}.bin and unlabeled_X.bin: images column-major
    (each 3 x 96 x 96 stored as C, W, H), labels 1..10 as bytes."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, split in enumerate(("train", "test", "unlabeled")):
        x = _pixels(n + k, (3, 96, 96), seed=20 + k)  # (N, C, H, W)
        (folder / f"{split}_X.bin").write_bytes(np.ascontiguousarray(x.transpose(0, 1, 3, 2)).tobytes())
        y = (np.arange(n + k) % 10).astype(np.int64)
        if split != "unlabeled":
            (folder / f"{split}_y.bin").write_bytes((y + 1).astype(np.uint8).tobytes())
        out[split] = (x, y if split != "unlabeled" else None)
    return out


def write_celeba(root: Path, partition: tuple[int, ...] = (0, 0, 0, 0, 1, 2), size: tuple[int, int] = (178, 218),
                 fmt: str = "JPEG") -> list[Path]:
    """celeba/img_align_celeba/000001.jpg ... and celeba/list_eval_partition.txt."""
    from PIL import Image

    folder = root / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True, exist_ok=True)
    paths, lines = [], []
    for i, part in enumerate(partition, 1):
        path = folder / f"{i:06d}.jpg"
        Image.fromarray(_pixels(1, (size[1], size[0], 3), seed=30 + i)[0]).save(path, fmt)
        paths.append(path)
        lines.append(f"{path.name} {part}")
    (root / "celeba" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return paths


def write_image_folder(root: Path) -> list[Path]:
    """Nested class folders of PNG, JPEG and WebP images of assorted sizes and modes."""
    from PIL import Image

    specs = [("cats/a.png", (20, 12), "RGB", "PNG"), ("cats/deep/b.jpg", (16, 16), "RGB", "JPEG"),
             ("dogs/c.webp", (12, 18), "RGB", "WEBP"), ("dogs/d.PNG", (10, 10), "L", "PNG"),
             ("dogs/e.png", (14, 9), "RGBA", "PNG")]
    paths = []
    for k, (rel, (w, h), mode, fmt) in enumerate(specs):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = (h, w) if mode == "L" else (h, w, len(mode))
        Image.fromarray(_pixels(1, shape, seed=40 + k)[0]).save(path, fmt)
        paths.append(path)
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir(exist_ok=True)
    Image.new("RGB", (8, 8)).save(root / ".hidden" / "skip.png")
    return paths
