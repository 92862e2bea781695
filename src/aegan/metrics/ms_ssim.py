"""MS-SSIM among pairs of samples (Wang et al. 2003; 002 Fig. 7; Odena et al. 2017's diversity test).

The mean multi-scale structural similarity of ``pairs`` random pairs of generated images
(two different samples each), and the same for real images of the dataset, read two ways:

``ms_ssim/quality`` -- the samples' mean pairwise MS-SSIM as 002 reads it (Sec. 4.3: "The
  MS-SSIM is extensively used for evaluating image quality"; VLGAN's "MS-SSIM value was
  slightly higher than that of DCGAN in terms of image quality"): higher is better.
``ms_ssim/collapse`` -- the same number against the real data's, as a collapse signal
  (Odena et al.): (quality - ms_ssim_real) / (1 - ms_ssim_real). 1 when every sample is
  the same image (a collapsed generator), 0 at the pairwise similarity of real images,
  below 0 for samples less alike than real ones (noise); higher is worse.

The two readings rank a more repetitive generator in opposite directions: a table says which
it uses. 002 Fig. 7's table (``benchmarks/natural_images.py celeba_vlgan``) compares with
002's claims on the quality reading and prints the collapse reading and ``ms_ssim_real``
beside it. Computed by torchmetrics with its defaults (Gaussian window, k1 = 0.01,
k2 = 0.03, data range 1).

The Gaussian window has std ``sigma`` (1.5, the standard) and width 2 int(3.5 sigma + 0.5) + 1
(11 px; torchmetrics' rule). The standard five scale weights (0.0448, 0.2856, 0.3001, 0.2363,
0.1333) need images of ~176 px with that window; smaller images use the first ``scales`` of
them, renormalised to sum to 1 (``scales: null`` takes as many as torchmetrics accepts for
the image size and window: 2 for 28 x 28 MNIST with sigma 1.5, 3 with sigma 0.8).
"""

from __future__ import annotations

import torch
from pydantic import PositiveFloat, PositiveInt, field_validator

from aegan.metrics.base import EvalContext, MetricParams, register_metric

STANDARD_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


class MSSSIMParams(MetricParams):
    pairs: PositiveInt = 1000
    sigma: PositiveFloat = 1.5  # the Gaussian window's std; its width follows (11 px for 1.5)
    scales: PositiveInt | None = None  # None: the most the image size allows (at most 5)

    @field_validator("scales")
    @classmethod
    def _at_most_five(cls, v: int | None) -> int | None:
        if v is not None and v > len(STANDARD_BETAS):
            raise ValueError(f"scales must be at most {len(STANDARD_BETAS)}, got {v}")
        return v


def window_size(sigma: float) -> int:
    """The Gaussian window's width for ``sigma`` (torchmetrics: 2 int(3.5 sigma + 0.5) + 1)."""
    return 2 * int(3.5 * sigma + 0.5) + 1


def fitting_scales(height: int, width: int, kernel_size: int) -> int:
    """The most scales torchmetrics accepts: side >= 2^S and side // max(1, S - 1)^2 > kernel - 1."""
    side = min(height, width)
    fits = [s for s in range(1, len(STANDARD_BETAS) + 1)
            if side >= 2 ** s and side // max(1, s - 1) ** 2 > kernel_size - 1]
    if not fits:
        raise ValueError(f"ms_ssim: images of {height} x {width} are too small for a {kernel_size}-px window; "
                         "set eval.params.ms_ssim.sigma smaller")
    return fits[-1]


def betas_for(scales: int) -> tuple[float, ...]:
    head = STANDARD_BETAS[:scales]
    return tuple(b / sum(head) for b in head)


def mean_pair_ms_ssim(x: torch.Tensor, pairs: int, p: MSSSIMParams, seed: int) -> tuple[float, int]:
    """Mean MS-SSIM over ``pairs`` random pairs (i != j) of images x in [0, 1], and the scales used."""
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    if x.dim() != 4 or len(x) < 2:
        raise ValueError(f"ms_ssim needs at least 2 images of shape (n, c, h, w); got {tuple(x.shape)}")
    window = window_size(p.sigma)
    scales = p.scales or fitting_scales(x.shape[-2], x.shape[-1], window)
    rng = torch.Generator().manual_seed(seed)
    i = torch.randint(len(x), (pairs,), generator=rng)
    j = (i + torch.randint(1, len(x), (pairs,), generator=rng)) % len(x)  # never i itself
    a, b = x[i].float().clamp(0, 1), x[j].float().clamp(0, 1)
    values = multiscale_structural_similarity_index_measure(
        a, b, kernel_size=window, sigma=p.sigma, data_range=1.0, betas=betas_for(scales), reduction="none")
    return float(values.mean()), scales


def collapse_signal(generated: float, real: float) -> float:
    """(generated - real) / (1 - real): 1 for identical samples, 0 at the real data's value."""
    if real >= 1.0:
        return float("nan")  # real images all alike: no scale to measure collapse on
    return (generated - real) / (1.0 - real)


@register_metric("ms_ssim", MSSSIMParams, data_kinds=("images",))
def ms_ssim(ctx: EvalContext, p: MSSSIMParams) -> dict[str, float]:
    generated, scales = mean_pair_ms_ssim(ctx.generate(ctx.n_samples), p.pairs, p, ctx.seed)
    real, _ = mean_pair_ms_ssim(ctx.dataset.sample(ctx.n_samples, ctx.seed + 1).x, p.pairs, p, ctx.seed)
    return {"quality": generated, "collapse": collapse_signal(generated, real), "ms_ssim_real": real,
            "scales": float(scales)}
