"""Precision, recall, density and coverage (Naeem et al. 2020, "Reliable Fidelity and
Diversity Metrics for Generative Models") on Inception features.

With real features X (N) and generated Y (M), r_i the distance from X_i to its k-th nearest
other real point and s_j that of Y_j among the generated points (Euclidean; strict ``<`` as
in the authors' code):

- precision = 1/M sum_j [exists i: |Y_j - X_i| < r_i]   (generated points on the real manifold)
- recall    = 1/N sum_i [exists j: |X_i - Y_j| < s_j]   (real points on the generated manifold)
- density   = 1/(kM) sum_j #{i: |Y_j - X_i| < r_i}      (~1 when Y follows X; above 1 in dense regions)
- coverage  = 1/N sum_i [min_j |X_i - Y_j| < r_i]       (real neighbourhoods holding a generated point)

Everything runs over blocks of ``chunk_size`` x ``chunk_size`` distances: the k-NN radii keep
a running k+1 smallest per row, the counts accumulate per block; no N x N matrix is held.
Real features come from the same cached reference statistics as ``fid`` and generated ones
are shared with it within one evaluation.
"""

from __future__ import annotations

import torch
from pydantic import Field, PositiveInt
from torch import Tensor

from aegan.metrics.base import EvalContext, register_metric
from aegan.metrics.fid import InceptionParams, real_and_generated
from aegan.metrics.inception import default_device


class PRDCParams(InceptionParams):
    nearest_k: PositiveInt = 5
    chunk_size: int = Field(2048, gt=0, le=1 << 16)  # rows and columns of one distance block


def _distances(a: Tensor, b: Tensor) -> Tensor:
    """(p, d), (q, d) float64 -> (p, q) Euclidean distances."""
    sq = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T
    return sq.clamp_min(0).sqrt()


def knn_radii(x: Tensor, k: int, chunk: int) -> Tensor:
    """(n, d) -> (n,) distance of each row to its k-th nearest other row (the row itself, at
    distance 0, is the nearest; as in the authors' code, the k+1-th smallest distance)."""
    if len(x) <= k:
        raise ValueError(f"prdc: nearest_k = {k} needs more than {k} points of each kind, got {len(x)}")
    out = []
    for i in range(0, len(x), chunk):
        rows = x[i: i + chunk]
        best = torch.full((len(rows), 0), float("inf"), dtype=x.dtype, device=x.device)
        for j in range(0, len(x), chunk):
            block = torch.cat([best, _distances(rows, x[j: j + chunk])], dim=1)
            best = block.topk(min(k + 1, block.shape[1]), dim=1, largest=False).values
        out.append(best[:, k])
    return torch.cat(out)


def prdc(real: Tensor, fake: Tensor, k: int = 5, chunk: int = 2048) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` (M, d) against ``real`` (N, d)."""
    real, fake = real.double(), fake.double()
    r, s = knn_radii(real, k, chunk), knn_radii(fake, k, chunk)  # (N,), (M,)
    on_real = torch.zeros(len(fake), dtype=torch.bool, device=fake.device)  # precision, per fake
    inside = torch.zeros(len(fake), dtype=torch.float64, device=fake.device)  # density counts, per fake
    on_fake = torch.zeros(len(real), dtype=torch.bool, device=real.device)  # recall, per real
    nearest = torch.full((len(real),), float("inf"), dtype=torch.float64, device=real.device)  # per real
    for j in range(0, len(fake), chunk):
        f, sj = fake[j: j + chunk], s[j: j + chunk]
        for i in range(0, len(real), chunk):
            d = _distances(real[i: i + chunk], f)  # (n_i, m_j)
            within_real = d < r[i: i + chunk, None]
            on_real[j: j + chunk] |= within_real.any(0)
            inside[j: j + chunk] += within_real.sum(0)
            on_fake[i: i + chunk] |= (d < sj[None, :]).any(1)
            nearest[i: i + chunk] = torch.minimum(nearest[i: i + chunk], d.min(1).values)
    return {"precision": float(on_real.double().mean()), "recall": float(on_fake.double().mean()),
            "density": float(inside.mean() / k), "coverage": float((nearest < r).double().mean())}


@register_metric("prdc", PRDCParams, data_kinds=("images",))
def prdc_metric(ctx: EvalContext, p: PRDCParams) -> dict[str, float | str]:
    real, fake, digest = real_and_generated(ctx, p)
    device = default_device(p.device or ctx.device)  # the distance blocks run where the network ran
    out = prdc(real.features.to(device), fake.features.to(device), p.nearest_k, p.chunk_size)
    return {**out, "n_real": float(len(real.features)), "weights_sha256": digest}
