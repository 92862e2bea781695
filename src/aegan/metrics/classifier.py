"""The project's MNIST classifier: counts stacked/compositional MNIST modes and gives the
MODE score and the classifier Inception score (DESIGN.md section 4).

A 4-layer CNN (001 Sec. 4.1.1 uses "a 4-layer CNN classifier"): conv 5x5 32 - BN - ReLU -
pool, conv 5x5 64 - BN - ReLU - pool, FC 256 - BN - ReLU - dropout, FC 10. Trained by
``benchmarks/train_mnist_classifier.py`` on the 50,000 training images; the weights are a
plain state_dict in ``aegan/assets/mnist_classifier.pt``, loaded with ``weights_only=True``
after checking the SHA-256 recorded beside it (``aegan.assets``), so every mode count uses the same classifier and
every result records which one (``classifier_sha256`` in the dataset's protocol).
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aegan.assets import CLASSIFIER_PATH as ASSET
from aegan.assets import CLASSIFIER_SHA256

TEST_ACCURACY = 0.9929  # on the 10,000 MNIST test images, when the weights were made


class WeightsError(RuntimeError):
    """The classifier weights are missing or are not the recorded ones."""


class MNISTClassifier(nn.Module):
    """(N, 1, 28, 28) in [0, 1] -> (N, 10) logits."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(32, 64, 5, padding=2), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),  # 7x7
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(64 * 7 * 7, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.3),
                                  nn.Linear(256, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def load_classifier(device: str = "cpu", path: str | None = None, expected_sha256: str | None = CLASSIFIER_SHA256) -> MNISTClassifier:
    """The classifier in eval mode, after checking the file's SHA-256 (cached per device)."""
    path = Path(path) if path else ASSET
    if not path.is_file():
        raise WeightsError(f"{path}: MNIST classifier weights missing; rebuild them with "
                           "`python benchmarks/train_mnist_classifier.py` (needs MNIST: aegan assets --fetch)")
    actual = sha256_file(path)
    if expected_sha256 is not None and actual != expected_sha256:
        raise WeightsError(f"{path}: SHA-256 {actual} is not the recorded {expected_sha256}; "
                           "restore the file or update CLASSIFIER_SHA256 in aegan/assets/__init__.py")
    net = MNISTClassifier()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.to(device).eval()


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@torch.no_grad()
def digit_probabilities(x: Tensor, chunk: int = 2048, device: str | None = None) -> Tensor:
    """(N, 1, 28, 28) in [0, 1] -> (N, 10) softmax probabilities, on the CPU."""
    device = device or _device()
    net = load_classifier(device)
    out = [F.softmax(net(x[i: i + chunk].to(device).float()), dim=1).cpu() for i in range(0, len(x), chunk)]
    return torch.cat(out) if out else torch.empty(0, 10)


# -- training (benchmarks/train_mnist_classifier.py) ----------------------------------------------
@torch.no_grad()
def accuracy(net: nn.Module, x: Tensor, y: Tensor, chunk: int = 2000) -> float:
    net.eval()
    correct = sum(int((net(x[i: i + chunk]).argmax(1) == y[i: i + chunk]).sum()) for i in range(0, len(x), chunk))
    return correct / len(x)


def train_classifier(epochs: int = 2, batch_size: int = 128, lr: float = 3e-3, seed: int = 0,
                     log=print) -> tuple[MNISTClassifier, dict[str, float]]:
    """Train on MNIST ``train`` (50k), report ``valid`` and ``test`` accuracy. One-cycle Adam."""
    from aegan.data.images import load_mnist

    torch.manual_seed(seed)
    arrays = load_mnist()

    def tensors(split):
        x, y = arrays[split]
        return torch.from_numpy(x).unsqueeze(1).float() / 255.0, torch.from_numpy(y)

    (tx, ty), (vx, vy), (sx, sy) = tensors("train"), tensors("valid"), tensors("test")
    net = MNISTClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(tx) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    rng = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(tx), generator=rng)
        for i in range(steps_per_epoch):
            idx = order[i * batch_size: (i + 1) * batch_size]
            xb = tx[idx]
            # random shifts of up to 2 pixels: a classifier for generated digits must not
            # rely on exact centring
            dx, dy = torch.randint(-2, 3, (2,), generator=rng).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(net(xb), ty[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if i % 100 == 0:
                log(f"epoch {epoch} step {i}/{steps_per_epoch} loss {loss.item():.4f} ({time.perf_counter() - started:.0f} s)")
        log(f"epoch {epoch}: valid accuracy {accuracy(net, vx, vy):.4f}")
    stats = {"valid_accuracy": accuracy(net, vx, vy), "test_accuracy": accuracy(net, sx, sy),
             "train_seconds": time.perf_counter() - started, "epochs": epochs}
    return net.eval(), stats
