"""Mode coverage on 2D Gaussian mixtures (VEEGAN/PacGAN protocol, DESIGN.md section 4).

A sample is high quality if it lies within ``k_std`` (3) standard deviations of its
nearest centre; a mode is captured if it is the nearest centre of at least one
high-quality sample. The strict count asks a mode to receive at least
``strict_fraction`` of the high-quality samples its weight predicts.
"""

from __future__ import annotations

import torch
from pydantic import Field, PositiveFloat

from aegan.metrics.base import EvalContext, MetricParams, register_metric


class MixtureParams(MetricParams):
    """High quality within ``k_std`` stds; a strict mode gets ``strict_fraction`` of its share."""

    k_std: PositiveFloat = 3.0
    strict_fraction: float = Field(0.1, gt=0, le=1)


def mixture_scores(
    samples: torch.Tensor,
    centres: torch.Tensor,
    std: float,
    weights: torch.Tensor,
    k_std: float = 3.0,
    strict_fraction: float = 0.1,
) -> dict[str, float | None]:
    """Modes captured, high-quality share, strict modes and KL(mode histogram || weights)."""
    samples = samples.double()
    dist = torch.cdist(samples, centres.double())  # (n, modes)
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist < k_std * std
    counts = torch.bincount(nearest[hq], minlength=len(centres)).double()
    n = samples.shape[0]
    weights = weights.double()
    strict = counts >= strict_fraction * n * weights
    kl = None
    if counts.sum() > 0:
        p = counts / counts.sum()
        mask = p > 0
        kl = float((p[mask] * (p[mask] / weights[mask]).log()).sum())
    nonfinite = ~torch.isfinite(samples).all(dim=1)
    return {
        "modes": float((counts > 0).sum()),
        "high_quality": float(hq.double().mean()),
        "strict_modes": float(strict.sum()),
        "kl": kl,
        "total_modes": float(len(centres)),
        "nonfinite_share": float(nonfinite.double().mean()),
    }


@register_metric("mixture", MixtureParams, data_kinds=("vectors",))
def mixture_metric(ctx: EvalContext, p: MixtureParams) -> dict[str, float | None]:
    data = ctx.dataset
    if not hasattr(data, "centres"):
        raise ValueError("metric 'mixture' needs a Gaussian-mixture dataset (mixture, ring8, grid25)")
    return mixture_scores(ctx.generate(ctx.n_samples), data.centres, data.std, data.weights, p.k_std,
                          p.strict_fraction)
