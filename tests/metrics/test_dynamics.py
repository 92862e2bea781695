"""The dynamics metric: vanishing-gradient and oscillation statistics of a run's logged steps,
checked on series worked by hand, and end to end on a tiny run (aegan.metrics.dynamics)."""

from __future__ import annotations

import json

import pytest

from aegan.metrics import METRICS, EvalContext
from aegan.metrics.dynamics import DynamicsParams, dynamics_scores
from aegan.train import Trainer
from tests.conftest import tiny_config


def _rows(**series):
    n = len(next(iter(series.values())))
    return [{"step": i + 1, **{k: v[i] for k, v in series.items() if v[i] is not None}} for i in range(n)]


def test_a_vanishing_gradient_is_its_first_value_its_late_median_and_the_step_it_fell_below_one_percent():
    grad = [10.0, 5.0, 0.5, 0.05, 0.2, 0.01, 0.03, 0.02, 0.04, 0.06]
    out = dynamics_scores(_rows(g=grad), DynamicsParams(gradient="g", output=None))
    assert out == {"g/step1": 10.0, "g/last": 0.06, "g/steps_below_0.01": 4.0}  # 0.05 < 0.1; last 10 %: one step
    never = dynamics_scores(_rows(g=[1.0, 2.0, 3.0]), DynamicsParams(gradient="g", output=None, vanish_fraction=0.5))
    assert never["g/steps_below_0.5"] is None


def test_oscillation_separates_slow_swings_from_step_to_step_noise():
    fast = [0.0, 1.0] * 20  # flips every step: large change per step, a flat moving average
    slow = ([0.0] * 4 + [1.0] * 4) * 5  # the same values in slow swings
    p = DynamicsParams(gradient=None, output="d", window=4)
    f, s = dynamics_scores(_rows(d=fast), p), dynamics_scores(_rows(d=slow), p)
    assert f["d/mean"] == pytest.approx(0.5) and f["d/std"] == pytest.approx(0.5)  # population std of 0/1 halves
    assert f["d/change"] == pytest.approx(1.0) and f["d/slow_std"] == pytest.approx(0.0)
    # second half of slow: steps 21-40 = 0,0,0,0,1,1,1,1,0,0,0,0,1,1,1,1,0,0,0,0 -> 4 changes in 19 steps
    assert s["d/change"] == pytest.approx(4 / 19) and s["d/slow_std"] > 0.3


def test_a_term_absent_at_some_steps_counts_as_zero_only_when_asked():
    rows = _rows(a=[None, None, 4.0, 2.0], stage=[1, 1, 2, 2])
    tail = DynamicsParams(gradient="a", output=None, tail=("missing",), tail_fraction=0.5)
    assert dynamics_scores(rows, tail)["a/step1"] is None  # step 1 not logged: unknown
    zero = dynamics_scores(rows, tail.model_copy(update={"zero_when_absent": ("a",)}))
    assert zero["a/step1"] == 0.0 and zero["a/last"] == 3.0 and zero["missing/last"] is None


def test_the_metric_needs_a_runs_log(tmp_path):
    ctx = EvalContext(lambda n: None, None, 10)
    with pytest.raises(ValueError, match="dynamics: reads a run's logged steps"):
        METRICS["dynamics"](ctx, None)


def test_a_runs_dynamics_are_its_own_logged_steps_and_tabulate(tmp_path):
    from aegan.results.tables import tables_markdown

    config = tiny_config(**{"eval.metrics": ["mixture", "dynamics"], "eval.params": {"dynamics": {"tail": ["diag/d_fake"]}}})
    result = Trainer(config, tmp_path / "run").fit(progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    metrics = result["metrics"]
    assert metrics["dynamics/grad/generator/generator/step1"] == pytest.approx(rows[0]["grad/generator/generator"])
    assert metrics["dynamics/diag/d_fake/mean"] == pytest.approx(sum(r["diag/d_fake"] for r in rows[3:]) / 3)
    text, _ = tables_markdown([tmp_path])
    assert "| G grad (GAN loss): step 1 |" in text and "D(fake): last 10 % (median)" in text


def test_dynamics_columns_come_gradient_first_then_output_then_the_other_series():
    from aegan.results.cells import columns_for

    keys = ["diag/alpha_l/last", "diag/d_fake/change", "diag/d_fake/mean", "grad/g/last", "grad/g/step1",
            "grad/g/steps_below_0.01", "diag/d_fake/slow_std", "diag/d_fake/std"]
    columns = columns_for([{"metrics": {f"dynamics/{k}": 1.0 for k in keys}}])
    assert [c[1][len("dynamics/"):] for c in columns] == [
        "grad/g/step1", "grad/g/last", "grad/g/steps_below_0.01", "diag/d_fake/mean", "diag/d_fake/std",
        "diag/d_fake/change", "diag/d_fake/slow_std", "diag/alpha_l/last"]
    assert columns[2][0] == "grad/g: first step < 0.01 x step 1 (n/a: never)" and columns[2][2] == ".0f"
    assert columns[7][0] == "alpha_L: last 10 % (median)"
