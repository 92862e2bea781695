"""The third-party noisy discriminator flags the modes a "generator" drops; it trains until
its held-out accuracy stops improving, reports that accuracy, and has the run's D's layout."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext, evaluate
from aegan.metrics.third_party import (ThirdPartyParams, Stopping, held_out_fit, third_party_scores,
                                       train_until_plateau)
from aegan.train import Trainer
from tests.conftest import tiny_raw

TINY_D = {"width": 4, "fc": 8, "test_draws": 1, "batch_size": 16}


def _digits():
    return build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")


class Counter(nn.Module):
    """A "net" whose state is the number of steps taken: a parameter and a buffer."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))

    def step(self):
        with torch.no_grad():
            self.w += 1
        self.seen += 1


def _plateau(curve: list[float], **kw) -> tuple[Stopping, Counter, list[int]]:
    """Early stopping on a hand-made accuracy curve: curve[k - 1] after k steps."""
    net, asked = Counter(), []

    def accuracy():
        asked.append(int(net.seen))
        return curve[int(net.seen) - 1]

    return train_until_plateau(net, net.step, accuracy, **kw), net, asked


CURVE = [0.6, 0.7, 0.8, 0.75, 0.8, 0.7, 0.9] + [0.5] * 93


def test_early_stopping_stops_patience_evaluations_after_the_best_and_restores_it():
    # best 0.8 after 3 steps; 0.75, the tie 0.8 and 0.7 are no progress: stop after step 6,
    # before the 0.9 of step 7, with the state of step 3 (parameter and buffer) back in the net
    stopping, net, asked = _plateau(CURVE, eval_every=1, patience=3, max_steps=100)
    assert stopping == Stopping(0.8, 3, 6)
    assert asked == [1, 2, 3, 4, 5, 6]
    assert float(net.w.detach()) == 3.0 and int(net.seen) == 3


def test_early_stopping_evaluates_every_k_steps():
    # evaluated after steps 2 (0.7), 4 (0.75), 6 (0.7), 8 (0.5): patience 2 stops at step 8
    stopping, net, asked = _plateau(CURVE, eval_every=2, patience=2, max_steps=100)
    assert asked == [2, 4, 6, 8]
    assert stopping == Stopping(0.75, 4, 8) and float(net.w.detach()) == 4.0


def test_the_cap_holds_and_the_last_step_is_evaluated():
    rising = [k / 100 for k in range(1, 101)]
    stopping, net, asked = _plateau(rising, eval_every=3, patience=2, max_steps=7)
    assert asked == [3, 6, 7]  # 7 is not a multiple of 3: evaluated as the last step
    assert stopping == Stopping(0.07, 7, 7) and float(net.w.detach()) == 7.0


class FixedLogits(nn.Module):
    def forward(self, x):
        return x[:, 0]


def test_held_out_accuracy_and_loss_by_hand():
    real = torch.tensor([[0.0], [-1.0], [1.0], [2.0]])  # logit > 0: 2 of 4 called real
    fake = torch.tensor([[-1.0], [-2.0]])  # 2 of 2 called fake
    accuracy, loss = held_out_fit(FixedLogits(), real, fake)
    assert accuracy == pytest.approx((0.5 + 1.0) / 2)
    softplus = [math.log1p(math.exp(-t)) for t in (0.0, -1.0, 1.0, 2.0)]  # -log sigmoid(t)
    assert loss == pytest.approx((sum(softplus) / 4 + (math.log1p(math.exp(-1)) + math.log1p(math.exp(-2))) / 2) / 2)


DROPPED = dict(sigmas=(0.2,), max_steps=1500, eval_every=50, patience=4, batch_size=64, lr=1e-3, width=8, fc=32,
               test_draws=2, threshold=0.6)


def _dropped_three(**settings):
    data = _digits()
    real = data.sample(None, 0)
    fake = real.x[real.y != 3]  # a "generator" that reproduces the data but never draws a 3
    held = data.held_out()
    out = third_party_scores(real.x, fake, held.x, held.y, ThirdPartyParams(**{**DROPPED, **settings}), 0, "cpu")
    return out, int((held.y == 3).sum())


def test_flags_a_dropped_digit_class():
    # 1,500 training images: the held-out 3s reach ~0.75 (training 3s ~0.94), so the
    # threshold is 0.6 here instead of 000's 0.8; the other digits sit at ~0.48
    out, n3 = _dropped_three()
    assert out["sigma0.2/missed_modes"] == 1, out
    assert out["sigma0.2/modes_present"] == 10
    assert 0.5 * n3 <= out["sigma0.2/points"] <= 1.5 * n3, (out, n3)  # the flagged points: (mostly) the 3s
    # the only thing to learn is "a 3 is real": balanced accuracy ~ 1/2 + (share of 3s) / 2
    assert 0.5 < out["sigma0.2/held_out_accuracy"] < 0.6, out
    assert out["sigma0.2/held_out_loss"] < 0.67 and out["sigma0.2/steps"] >= 200, out


def test_stopping_on_accuracy_stops_before_the_dropped_class_is_learnt():
    # 90 % of the points are in both sets: the accuracy is a coin flip on them and peaks at
    # the first evaluation, when the 3s are still near 0.5 (the reason the loss is the default)
    out, _ = _dropped_three(stop_on="accuracy")
    assert out["sigma0.2/steps"] == 50 and out["sigma0.2/missed_modes"] == 0, out


def test_nothing_flagged_when_nothing_is_dropped():
    data = _digits()
    real = data.sample(None, 0)
    held = data.held_out()
    settings = ThirdPartyParams(sigmas=(0.2,), max_steps=200, eval_every=50, patience=2, batch_size=64, lr=1e-3,
                                width=8, fc=32, test_draws=2, threshold=0.6)
    out = third_party_scores(real.x, data.sample(1500, 1).x, held.x, held.y, settings, seed=0, device="cpu")
    assert out["sigma0.2/missed_modes"] == 0, out
    assert out["sigma0.2/held_out_accuracy"] < 0.6, out  # the same distribution: little better than chance


def test_accuracy_and_steps_are_reported_beside_the_count():
    data = _digits()
    real, held = data.sample(400, 0), data.held_out(100)
    noise = torch.rand(400, 1, 8, 8)  # uniform noise images: easy to tell from digits
    settings = ThirdPartyParams(sigmas=(0.1,), max_steps=300, eval_every=20, patience=3, lr=1e-3, **TINY_D)
    out = third_party_scores(real.x, noise, held.x, held.y, settings, seed=0, device="cpu")
    assert out["sigma0.1/held_out_accuracy"] > 0.95, out
    assert out["sigma0.1/steps"] % 20 == 0 and out["sigma0.1/steps"] <= out["sigma0.1/stopped_at"] <= 300
    capped = third_party_scores(real.x, noise, held.x, held.y, settings.model_copy(update={"max_steps": 5}), 0, "cpu")
    assert capped["sigma0.1/stopped_at"] == 5 and capped["sigma0.1/steps"] <= 5
    assert capped["d_from_run"] == 0.0  # no run: the fixed net


def _conv_trainer(tmp_path, method: str = "nsgan") -> Trainer:
    raw = tiny_raw(**{"method.name": method, "data.name": "digits", "train.steps": 2, "train.batch_size": 16,
                      "eval.metrics": ["third_party_fast"], "eval.n_samples": 64})
    raw["model"] = {"family": "conv", "latent_dim": 4, "width": 4, "fc": 8, "layers": 2}
    from aegan.config import build_config

    return Trainer(build_config(raw), tmp_path / method)


def _layout(net: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(t.shape)) for name, t in net.state_dict().items()]


@pytest.mark.parametrize("method", ["nsgan", "wgan_gp"])
def test_the_third_party_d_is_the_runs_family_d(tmp_path, method):
    trainer = _conv_trainer(tmp_path, method)
    ctx = trainer._eval_context(64)
    family_d = trainer.factory.discriminator()
    assert _layout(ctx.discriminator()) == _layout(family_d)
    if method == "nsgan":  # the run's own D is the family's
        assert _layout(trainer.nets["discriminator"]) == _layout(family_d)
    else:  # a gradient-penalty critic drops batch norm; the third-party D keeps the family's, for every row alike
        assert any(isinstance(m, nn.BatchNorm2d) for m in ctx.discriminator().modules())
    built = []
    ctx = dataclasses.replace(ctx, discriminator=lambda: built.append(trainer.factory.discriminator()) or built[-1])
    params = {"third_party_fast": {"sigmas": [0.1, 0.3], "max_steps": 4, "eval_every": 2}}
    out = evaluate(ctx, ["third_party_fast"], params)
    assert len(built) == 2 and out["third_party_fast/d_from_run"] == 1.0
    assert out["third_party_fast/sigma0.3/stopped_at"] <= 4 and "third_party_fast/sigma0.1/held_out_accuracy" in out
    fixed = evaluate(ctx, ["third_party_fast"], {"third_party_fast": {**params["third_party_fast"],
                                                                     "architecture": "fixed"}})
    assert len(built) == 2 and fixed["third_party_fast/d_from_run"] == 0.0


def test_generated_and_real_images_share_a_range(tmp_path):
    # the D must see both in the units the GAN trains on (sigma is in those units)
    trainer = _conv_trainer(tmp_path)
    ctx = trainer._eval_context(64)
    fake, real = ctx.generate(64), ctx.dataset.sample(64, 0).x
    assert real.min() - 1e-6 <= fake.min() and fake.max() <= real.max() + 1e-6, (fake.aminmax(), real.aminmax())


def test_registered_metric_runs_through_the_context():
    assert "third_party" in METRICS and "third_party_fast" in METRICS
    ctx = EvalContext(lambda n: torch.rand(n, 1, 8, 8), _digits(), 64, seed=0)
    out = METRICS["third_party_fast"](ctx, {"max_steps": 10, "eval_every": 5})
    assert set(out) >= {"sigma0.5/points", "sigma0.5/missed_modes", "sigma0.5/held_out_accuracy", "sigma0.5/steps",
                        "held_out", "d_from_run"}
    assert out["d_from_run"] == 0.0


def test_tables_show_the_accuracy_beside_each_missed_count():
    from aegan.results.cells import columns_for

    metrics = {"third_party_fast/sigma0.5/missed_modes": 12.0, "third_party_fast/sigma0.5/held_out_accuracy": 0.91,
               "third_party_fast/sigma1/missed_modes": 3.0}  # sigma 1: a record from before the accuracy
    titles = [c[0] for c in columns_for([{"metrics": metrics}])]
    assert titles == ["third-party D: missed (sigma0.5)", "third-party D: held-out accuracy (sigma0.5)",
                      "third-party D: missed (sigma1)"]
