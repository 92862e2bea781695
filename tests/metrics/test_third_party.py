"""The third-party noisy discriminator flags the modes a "generator" drops."""

from __future__ import annotations

import torch

from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext
from aegan.metrics.third_party import ThirdPartyParams, third_party_scores


def test_flags_a_dropped_digit_class():
    torch.manual_seed(0)
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    real = data.sample(None, 0)
    keep = real.y != 3
    fake = real.x[keep]  # a "generator" that reproduces the data but never draws a 3
    held = data.held_out()
    # 1,500 training images: the held-out 3s reach ~0.72 (training 3s ~0.94), so the
    # threshold is 0.6 here instead of 000's 0.8; the other digits sit at ~0.48
    settings = ThirdPartyParams(sigmas=(0.2,), steps=400, batch_size=64, lr=1e-3, width=8, fc=32, test_draws=2,
                                  threshold=0.6)
    out = third_party_scores(real.x, fake, held.x, held.y, settings, seed=0, device="cpu")
    assert out["sigma0.2/missed_modes"] == 1, out
    assert out["sigma0.2/modes_present"] == 10
    # the flagged points are (mostly) the held-out 3s
    n3 = int((held.y == 3).sum())
    assert 0.5 * n3 <= out["sigma0.2/points"] <= 1.5 * n3, (out, n3)


def test_nothing_flagged_when_nothing_is_dropped():
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    real = data.sample(None, 0)
    held = data.held_out()
    settings = ThirdPartyParams(sigmas=(0.2,), steps=200, batch_size=64, lr=1e-3, width=8, fc=32, test_draws=2,
                                  threshold=0.6)
    out = third_party_scores(real.x, data.sample(1500, 1).x, held.x, held.y, settings, seed=0, device="cpu")
    assert out["sigma0.2/missed_modes"] == 0, out


def test_registered_metric_runs_through_the_context():
    assert "third_party" in METRICS and "third_party_fast" in METRICS
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    ctx = EvalContext(lambda n: torch.rand(n, 1, 8, 8), data, 64, seed=0)
    out = METRICS["third_party_fast"](ctx)
    assert set(out) >= {"sigma0.5/points", "sigma0.5/missed_modes", "held_out"}
