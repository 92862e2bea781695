"""Missing modes by a third-party discriminator (000 Sec. 4.2; 001 Sec. 3.4 and 4.2.1).

A fresh discriminator, not used to train the generator, learns real (label 1) vs generated
(label 0) with zero-mean Gaussian noise of std sigma added to its inputs (so that it cannot
separate the two perfectly and its output estimates p_d / (p_d + p_g) of the smoothed
densities). It is then applied to held-out real data: a real point with output > 0.8
(``threshold``) lies on a missing mode. Reported per sigma: the number and share of such
points (001 Tables 3, 4) and, where labels exist, the modes whose mean output over their
held-out points exceeds 0.8 (000 Table 2: "the expectation of discriminator outputs from
certain mode"); beside them the discriminator's own accuracy, so that a count can be read
against how well the estimator separated the two sets.

"The optimal discriminator" (000 Sec. 4.2), read as: trained until it stops getting better
on samples it has not seen. ``val_fraction`` of the real and of the generated samples are
held out of its training; every ``eval_every`` steps its fit to them (noisy inputs, one fixed
noise draw) is measured; training stops when ``patience`` evaluations in a row did not beat
the best, or at ``max_steps``, and the best state is kept. The fit (``stop_on``) is by default
the held-out cross-entropy, the quantity whose minimiser is the optimal D = p_d / (p_d + p_g)
(001 Eq. 5, real labelled 1), whose outputs the count reads; ``stop_on: accuracy`` stops on
the balanced accuracy instead, which stays flat where the two sets overlap on most points (a
dropped digit class: the accuracy peaks after 50 steps with the missing 3s at output 0.52,
while the loss falls for hundreds of steps more and the 3s reach ~0.75; tested). Reported
for the kept state: ``sigma*/held_out_accuracy`` and ``sigma*/held_out_loss``,
``sigma*/steps`` (the steps it had trained) and ``sigma*/stopped_at`` (= ``max_steps`` where
the cap ended it).

The net follows 001 Sec. 4.2.1's rule, "the same architecture and hyper-parameters" as the
GAN's D: ``architecture: run`` builds the discriminator of the run's model family as its
config gives it (``EvalContext.discriminator``: the family's D, not a method's variant of it
such as a gradient-penalty critic without batch norm, so every row of a table is measured by
the same net). Where the context has no run (samples evaluated on their own) or with
``architecture: fixed``, it is 000 Table 3's conv layout without batch norm at ``width`` /
``fc`` (an MLP on vectors); ``d_from_run`` says which one ran.

Choices written down: the held-out points also get input noise (the net only ever saw
noisy inputs), and their output is the mean probability over ``test_draws`` noise draws.
Real and generated samples share each training batch (a batch-norm D normalises the mix;
it is evaluated in eval mode, so outputs do not depend on the batch). Adam lr 2e-4, betas
(0.5, 0.999): 000 App. D's and DCGAN's; PyTorch's initialisation whatever the run's. Both sets
are images as the metrics see them, pixels in [0, 1] whatever ``data.range``, and sigma is in
those units (celeba_mdgan reads 001's 3.5 and 4.0 as [-1, 1] units: 1.75 and 2.0 here). The
real samples are drawn with replacement (``dataset.sample``), so on a small training set
some held-out real points repeat training ones.

Every setting is a parameter (``eval.params.third_party`` in a run config, see
``ThirdPartyParams``); ``third_party_fast`` is the same metric with cheaper defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator
from torch import Tensor, nn

from aegan.metrics.base import EvalContext, MetricParams, register_metric


class ThirdPartyParams(MetricParams):
    """000 Sec. 4.2's protocol: a noisy D per sigma, trained to its best held-out fit;
    outputs > ``threshold`` flag missing modes. Neither paper gives a training length: the
    cap (20,000 steps of 64 + 64) is a bound on the time, not a setting to reach; a check
    every 250 steps and 4 without progress stop it once 1,000 steps no longer help."""

    sigmas: tuple[NonNegativeFloat, ...] = Field((0.25, 0.5), min_length=1)
    max_steps: PositiveInt = 20_000  # the cap on D's training steps
    eval_every: PositiveInt = 250  # steps between two held-out fits
    patience: PositiveInt = 4  # evaluations in a row without a better fit: stop
    val_fraction: float = Field(0.2, gt=0, lt=1)  # of the real and of the generated samples, held out of D's training
    stop_on: Literal["loss", "accuracy"] = "loss"  # the held-out figure early stopping follows
    batch_size: PositiveInt = 64  # real and generated samples each
    lr: PositiveFloat = 2e-4
    threshold: float = Field(0.8, gt=0, lt=1)
    architecture: Literal["run", "fixed"] = "run"  # run: the run's own D (001); fixed: width / fc below
    width: PositiveInt = 32  # the fixed net's
    fc: PositiveInt = 256  # the fixed net's
    test_draws: PositiveInt = 4
    held_out: PositiveInt | None = None  # held-out real points; None: the dataset's default

    @field_validator("sigmas")
    @classmethod
    def _distinct(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(set(v)) != len(v):
            raise ValueError("sigmas must be distinct")
        return v


class ThirdPartyFastParams(ThirdPartyParams):
    """A cheap preset for the reduced-scale CPU configs: one sigma, a 2,000-step cap,
    held-out fit every 100 steps, stop after 3 without progress; the fixed net narrow."""

    sigmas: tuple[NonNegativeFloat, ...] = Field((0.5,), min_length=1)
    max_steps: PositiveInt = 2000
    eval_every: PositiveInt = 100
    patience: PositiveInt = 3
    width: PositiveInt = 16
    fc: PositiveInt = 128
    test_draws: PositiveInt = 2


@dataclass(frozen=True)
class Stopping:
    """Where early stopping left a net: its best score, the step of that state, the last step run."""

    score: float
    step: int
    stopped_at: int


def train_until_plateau(net: nn.Module, step: Callable[[], None], score: Callable[[], float], eval_every: int,
                        patience: int, max_steps: int) -> Stopping:
    """Call ``step`` up to ``max_steps`` times; ``score()`` (higher is better) after every
    ``eval_every``-th (and the last); stop once ``patience`` evaluations in a row did not beat
    the best (a tie is no progress) and load the best state (parameters and buffers) back
    into ``net``."""
    best, best_step, best_state, since = -math.inf, 0, None, 0
    done = 0
    while done < max_steps:
        step()
        done += 1
        if done % eval_every and done < max_steps:
            continue
        value = float(score())
        if value > best:
            best, best_step, since = value, done, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            since += 1
            if since >= patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    return Stopping(best, best_step, done)


@dataclass(frozen=True)
class Fit:
    """A trained third-party D's held-out accuracy and cross-entropy, the steps of its kept
    state and the step its training stopped at."""

    accuracy: float
    loss: float
    steps: int
    stopped_at: int


def _fixed_discriminator(shape: tuple[int, ...], s: ThirdPartyParams) -> nn.Module:
    if len(shape) == 3:
        from aegan.nets.conv import ConvConfig, ConvDiscriminator

        return ConvDiscriminator(shape, ConvConfig(width=s.width, fc=s.fc, layers=2, d_batchnorm=False))
    from aegan.nets.mlp import MLPDiscriminator, flat_dim

    return MLPDiscriminator(flat_dim(shape), s.fc, 2)


def _split(x: Tensor, fraction: float, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """(training part, held-out part) of a random permutation; each keeps at least one sample."""
    if len(x) < 2:
        raise ValueError(f"third_party: needs at least 2 real and 2 generated samples, got {len(x)}")
    n_val = min(max(1, round(fraction * len(x))), len(x) - 1)
    order = torch.randperm(len(x), generator=rng)
    return x[order[n_val:]], x[order[:n_val]]


@torch.no_grad()
def held_out_fit(d: nn.Module, real: Tensor, fake: Tensor, chunk: int = 2048) -> tuple[float, float]:
    """(balanced accuracy, balanced cross-entropy) of ``d`` in eval mode: the means over the
    two sets of the share called right (real: logit > 0) and of -log D(real) / -log(1 - D(fake))."""
    was_training = d.training
    d.eval()
    hits, losses = [], []
    for x, label in ((real, 1.0), (fake, 0.0)):
        logits = torch.cat([d(x[i: i + chunk]).reshape(-1) for i in range(0, len(x), chunk)]).double()
        hits.append(((logits > 0) == bool(label)).double().mean())
        losses.append(F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label)))
    d.train(was_training)
    return float(sum(hits) / 2), float(sum(losses) / 2)


def train_noisy_discriminator(real: Tensor, fake: Tensor, sigma: float, s: ThirdPartyParams, seed: int,
                              device: torch.device, make_d: Callable[[], nn.Module] | None = None
                              ) -> tuple[nn.Module, Fit]:
    """A fresh D (``make_d()``, else the fixed net) trained on noisy real (1) vs noisy
    generated (0) samples until its held-out fit (``s.stop_on``) stops improving; in eval mode."""
    torch.manual_seed(seed)
    d = (make_d() if make_d is not None else _fixed_discriminator(tuple(real.shape[1:]), s)).to(device)
    opt = torch.optim.Adam(d.parameters(), lr=s.lr, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    (real, real_val), (fake, fake_val) = _split(real, s.val_fraction, rng), _split(fake, s.val_fraction, rng)
    # one fixed noise draw per held-out sample: the held-out curve moves with D only
    real_val = (real_val + sigma * torch.randn(real_val.shape, generator=rng)).to(device)
    fake_val = (fake_val + sigma * torch.randn(fake_val.shape, generator=rng)).to(device)
    real, fake = real.to(device), fake.to(device)
    target = torch.cat([torch.ones(s.batch_size, device=device), torch.zeros(s.batch_size, device=device)])
    d.train()

    def step() -> None:
        r = real[torch.randint(len(real), (s.batch_size,), generator=rng).to(device)]
        f = fake[torch.randint(len(fake), (s.batch_size,), generator=rng).to(device)]
        x = torch.cat([r, f])
        loss = F.binary_cross_entropy_with_logits(d(x + sigma * torch.randn_like(x)).reshape(-1), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def score() -> float:
        accuracy, loss = held_out_fit(d, real_val, fake_val)
        return accuracy if s.stop_on == "accuracy" else -loss

    stopping = train_until_plateau(d, step, score, s.eval_every, s.patience, s.max_steps)
    accuracy, loss = held_out_fit(d, real_val, fake_val)  # the kept state's (eval mode, fixed noise: as scored)
    return d.eval(), Fit(accuracy, loss, stopping.step, stopping.stopped_at)


@torch.no_grad()
def noisy_outputs(d: nn.Module, x: Tensor, sigma: float, draws: int, device: torch.device, chunk: int = 2048) -> Tensor:
    """Mean sigmoid(D(x + noise)) over ``draws`` noise draws, (n,) on the CPU."""
    out = []
    for i in range(0, len(x), chunk):
        xb = x[i: i + chunk].to(device)
        p = torch.stack([torch.sigmoid(d(xb + sigma * torch.randn_like(xb)).reshape(-1))
                         for _ in range(max(draws, 1))]).mean(0)
        out.append(p.cpu())
    return torch.cat(out)


def third_party_scores(real: Tensor, fake: Tensor, held_x: Tensor, held_y: Tensor | None,
                       settings: ThirdPartyParams = ThirdPartyParams(), seed: int = 0,
                       device: str | torch.device | None = None,
                       make_d: Callable[[], nn.Module] | None = None) -> dict[str, float]:
    """Per sigma: held-out real points (and labelled modes) the discriminator calls real
    (> threshold), and the discriminator's held-out accuracy, loss and training steps."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out: dict[str, float] = {}
    for sigma in settings.sigmas:
        d, fit = train_noisy_discriminator(real, fake, sigma, settings, seed, device, make_d)
        p = noisy_outputs(d, held_x, sigma, settings.test_draws, device)
        key = f"sigma{sigma:g}"
        out[f"{key}/points"] = float((p > settings.threshold).sum())
        out[f"{key}/share"] = float((p > settings.threshold).double().mean())
        out[f"{key}/mean_output"] = float(p.double().mean())
        out[f"{key}/held_out_accuracy"] = fit.accuracy
        out[f"{key}/held_out_loss"] = fit.loss
        out[f"{key}/steps"] = float(fit.steps)
        out[f"{key}/stopped_at"] = float(fit.stopped_at)
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
    out["d_from_run"] = float(make_d is not None)
    return out


def third_party_metric(ctx: EvalContext, p: ThirdPartyParams) -> dict[str, float]:
    """Fresh noisy discriminators on ``n_samples`` real vs generated samples, scored on held-out data."""
    data = ctx.dataset
    if not hasattr(data, "sample") or not hasattr(data, "held_out"):
        raise ValueError("metric 'third_party' needs a dataset with held-out real data (image datasets)")
    real = data.sample(ctx.n_samples, ctx.seed)
    held = data.held_out(p.held_out, ctx.seed + 1)
    make_d = ctx.discriminator if p.architecture == "run" else None
    return third_party_scores(real.x, ctx.generate(ctx.n_samples), held.x, held.y, p, ctx.seed, ctx.device, make_d)


register_metric("third_party", ThirdPartyParams)(third_party_metric)
register_metric("third_party_fast", ThirdPartyFastParams)(third_party_metric)
