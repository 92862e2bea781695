"""Missing modes by a third-party discriminator (000 Sec. 4.2; 001 Sec. 3.4 and 4.2.1).

A fresh discriminator, not used to train the generator, learns real (label 1) vs generated
(label 0) with zero-mean Gaussian noise of std sigma added to its inputs (so that it cannot
separate the two perfectly and its output estimates p_d / (p_d + p_g) of the smoothed
densities). It is then applied to held-out real data: a real point with output > 0.8
(``threshold``) lies on a missing mode. Reported per sigma: the number and share of such
points (001 Tables 3, 4) and, where labels exist, the modes whose mean output over their
held-out points exceeds 0.8 (000 Table 2: "the expectation of discriminator outputs from
certain mode").

Choices written down: the held-out points also get input noise (the net only ever saw
noisy inputs), and their output is the mean probability over ``test_draws`` noise draws.
The discriminator is 000 Table 3's conv layout without batch norm (so outputs do not depend
on the batch), at width ``width``; vectors get an MLP.

Every setting is a parameter (``eval.params.third_party`` in a run config, see
``ThirdPartyParams``); ``third_party_fast`` is the same metric with cheaper defaults.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator
from torch import Tensor, nn

from aegan.metrics.base import EvalContext, MetricParams, register_metric


class ThirdPartyParams(MetricParams):
    """000 Sec. 4.2's protocol: a noisy D per sigma, outputs > ``threshold`` flag missing modes."""

    sigmas: tuple[NonNegativeFloat, ...] = Field((0.25, 0.5), min_length=1)
    steps: PositiveInt = 1000
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 2e-4
    threshold: float = Field(0.8, gt=0, lt=1)
    width: PositiveInt = 32
    fc: PositiveInt = 256
    test_draws: PositiveInt = 4
    held_out: PositiveInt | None = None  # held-out real points; None: the dataset's default

    @field_validator("sigmas")
    @classmethod
    def _distinct(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(set(v)) != len(v):
            raise ValueError("sigmas must be distinct")
        return v


class ThirdPartyFastParams(ThirdPartyParams):
    """A cheap preset for the reduced-scale CPU configs: one sigma, a narrow net, 300 steps."""

    sigmas: tuple[NonNegativeFloat, ...] = Field((0.5,), min_length=1)
    steps: PositiveInt = 300
    width: PositiveInt = 16
    fc: PositiveInt = 128
    test_draws: PositiveInt = 2


def _make_discriminator(shape: tuple[int, ...], s: ThirdPartyParams) -> nn.Module:
    if len(shape) == 3:
        from aegan.nets.conv import ConvConfig, ConvDiscriminator

        return ConvDiscriminator(shape, ConvConfig(width=s.width, fc=s.fc, layers=2, d_batchnorm=False))
    from aegan.nets.mlp import MLPDiscriminator, flat_dim

    return MLPDiscriminator(flat_dim(shape), s.fc, 2)


def train_noisy_discriminator(real: Tensor, fake: Tensor, sigma: float, s: ThirdPartyParams, seed: int,
                              device: torch.device) -> nn.Module:
    """A fresh D trained on noisy real (1) vs noisy generated (0) samples."""
    torch.manual_seed(seed)
    d = _make_discriminator(tuple(real.shape[1:]), s).to(device)
    opt = torch.optim.Adam(d.parameters(), lr=s.lr, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    real, fake = real.to(device), fake.to(device)
    for _ in range(s.steps):
        r = real[torch.randint(len(real), (s.batch_size,), generator=rng).to(device)]
        f = fake[torch.randint(len(fake), (s.batch_size,), generator=rng).to(device)]
        x = torch.cat([r, f])
        x = x + sigma * torch.randn_like(x)
        target = torch.cat([torch.ones(len(r), device=device), torch.zeros(len(f), device=device)])
        loss = F.binary_cross_entropy_with_logits(d(x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return d.eval()


@torch.no_grad()
def noisy_outputs(d: nn.Module, x: Tensor, sigma: float, draws: int, device: torch.device, chunk: int = 2048) -> Tensor:
    """Mean sigmoid(D(x + noise)) over ``draws`` noise draws, (n,) on the CPU."""
    out = []
    for i in range(0, len(x), chunk):
        xb = x[i: i + chunk].to(device)
        p = torch.stack([torch.sigmoid(d(xb + sigma * torch.randn_like(xb))) for _ in range(max(draws, 1))]).mean(0)
        out.append(p.cpu())
    return torch.cat(out)


def third_party_scores(real: Tensor, fake: Tensor, held_x: Tensor, held_y: Tensor | None,
                       settings: ThirdPartyParams = ThirdPartyParams(), seed: int = 0,
                       device: str | torch.device | None = None) -> dict[str, float]:
    """Per sigma: held-out real points (and labelled modes) the discriminator calls real (> threshold)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out: dict[str, float] = {}
    for sigma in settings.sigmas:
        d = train_noisy_discriminator(real, fake, sigma, settings, seed, device)
        p = noisy_outputs(d, held_x, sigma, settings.test_draws, device)
        key = f"sigma{sigma:g}"
        out[f"{key}/points"] = float((p > settings.threshold).sum())
        out[f"{key}/share"] = float((p > settings.threshold).double().mean())
        out[f"{key}/mean_output"] = float(p.double().mean())
        if held_y is not None:
            labels = held_y.long()
            n_modes = int(labels.max()) + 1
            counts = torch.bincount(labels, minlength=n_modes).double()
            sums = torch.bincount(labels, weights=p.double(), minlength=n_modes)
            present = counts > 0
            mean = sums[present] / counts[present]
            out[f"{key}/missed_modes"] = float((mean > settings.threshold).sum())
            out[f"{key}/modes_present"] = float(present.sum())
    out["held_out"] = float(len(held_x))
    return out


def per_mode_outputs(d: nn.Module, held_x: Tensor, held_y: Tensor, sigma: float, draws: int = 4,
                     device: str | torch.device = "cpu") -> Tensor:
    """Mean output per label (NaN where a label has no held-out point), for inspection."""
    p = noisy_outputs(d, held_x, sigma, draws, torch.device(device)).double()
    n = int(held_y.max()) + 1
    counts = torch.bincount(held_y, minlength=n).double()
    return torch.bincount(held_y, weights=p, minlength=n) / counts


def third_party_metric(ctx: EvalContext, p: ThirdPartyParams) -> dict[str, float]:
    """Fresh noisy discriminators on ``n_samples`` real vs generated samples, scored on held-out data."""
    data = ctx.dataset
    if not hasattr(data, "sample") or not hasattr(data, "held_out"):
        raise ValueError("metric 'third_party' needs a dataset with held-out real data (image datasets)")
    real = data.sample(ctx.n_samples, ctx.seed)
    held = data.held_out(p.held_out, ctx.seed + 1)
    return third_party_scores(real.x, ctx.generate(ctx.n_samples), held.x, held.y, p, ctx.seed, ctx.device)


register_metric("third_party", ThirdPartyParams)(third_party_metric)
register_metric("third_party_fast", ThirdPartyFastParams)(third_party_metric)
