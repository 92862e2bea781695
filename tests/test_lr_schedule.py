"""The learning-rate schedule (train.lr_decay): its values and what the optimisers see."""

import pytest

from aegan.train import Trainer, lr_factor
from tests.conftest import tiny_config


def test_constant_schedule_is_one_everywhere():
    assert [lr_factor(s, 10, "none", 0.5) for s in (0, 5, 9)] == [1.0, 1.0, 1.0]


def test_linear_decay_holds_then_falls_to_zero_at_the_end():
    factors = [lr_factor(s, 10, "linear", 0.5) for s in range(11)]
    assert factors[:6] == [1.0] * 5 + [pytest.approx(1.0)]
    assert factors[6:] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])
    assert all(a >= b for a, b in zip(factors, factors[1:]))


def test_optimisers_follow_the_schedule_at_every_step(tmp_path):
    """Every optimiser step of every net runs at base lr * the schedule's factor of its step,
    the factor written out here for 6 steps with the decay from step 3 (lr_decay_start 0.5):
    1 for steps 0-2, then (6 - step) / (6 - 3) = 1, 2/3, 1/3 for steps 3-5; each net's base
    lr scaled by the method's own factor (VLGAN's D learns 10x faster)."""
    factor = [1.0, 1.0, 1.0, 1.0, 2 / 3, 1 / 3]
    trainer = Trainer(tiny_config(**{"method.name": "vlgan", "train.steps": 6, "train.lr_decay": "linear",
                                     "train.lr_decay_start": 0.5, "eval.metrics": []}), tmp_path / "run")
    seen = {name: [] for name in trainer.optimizers}
    for name, opt in trainer.optimizers.items():
        opt.register_step_pre_hook(lambda o, args, kwargs, name=name: seen[name].append(
            (trainer.step, [g["lr"] for g in o.param_groups])))
    trainer.fit(progress=False)
    base = {name: 1e-3 * trainer.method.lr_scale(name) for name in trainer.optimizers}
    assert base["discriminator"] == pytest.approx(10 * base["generator"])  # the nets' rates differ
    for name, steps in seen.items():
        assert sorted({step for step, _ in steps}) == list(range(6)), name  # every net stepped at every step
        for step, rates in steps:
            assert rates == pytest.approx([base[name] * factor[step]] * len(rates), rel=1e-12), (name, step)


def test_bad_schedule_values_are_config_errors():
    from aegan.config import ConfigError

    with pytest.raises(ConfigError, match="train.lr_decay"):
        tiny_config(**{"train.lr_decay": "cosine"})
    with pytest.raises(ConfigError, match="train.lr_decay_start"):
        tiny_config(**{"train.lr_decay_start": 1.0})


def _decaying_run(tmp_path, steps):
    from aegan.train import open_run

    run_dir = tmp_path / "run"
    Trainer(tiny_config(**{"train.steps": steps, "train.lr_decay": "linear", "train.lr_decay_start": 0.5,
                           "train.checkpoint_every": steps}), run_dir).fit(progress=False)
    return run_dir, open_run


def test_a_longer_budget_past_the_decay_start_is_refused(tmp_path):
    from aegan.config import ConfigError

    run_dir, open_run = _decaying_run(tmp_path, 4)  # steps 2 and 3 ran at decayed rates
    with pytest.raises(ConfigError, match="past the start of its learning-rate decay"):
        open_run(run_dir, {"train.steps": 8})
    assert open_run(run_dir, {"train.steps": 4}).step == 4  # the same budget still opens


def test_a_longer_budget_before_any_decay_continues(tmp_path):
    from aegan.config import ConfigError
    from aegan.train import check_schedule_unchanged

    config = tiny_config(**{"train.steps": 10, "train.lr_decay": "linear", "train.lr_decay_start": 0.5})
    longer = tiny_config(**{"train.steps": 20, "train.lr_decay": "linear", "train.lr_decay_start": 0.5})
    # the 10-step schedule decays from step 5 on, the 20-step one from step 10; step 5 still runs
    # at the full rate in both ((10 - 5) / (10 - 5) = 1), step 6 at 0.8 in the first only
    for done in (0, 5, 6):
        check_schedule_unchanged(config.train, longer.train, done=done)  # no error: steps 0-5 ran alike
    with pytest.raises(ConfigError, match="train.steps 10 -> 20: the run is at step 7, past the start"):
        check_schedule_unchanged(config.train, longer.train, done=7)
