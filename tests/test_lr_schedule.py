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


def test_optimisers_follow_the_schedule(tmp_path):
    trainer = Trainer(tiny_config(**{"train.steps": 6, "train.lr_decay": "linear", "train.lr_decay_start": 0.5}),
                      tmp_path / "run")
    trainer.fit(progress=False)
    # the last step (index 5 of 6) ran at lr * (6 - 5) / (6 - 3)
    for opt in trainer.optimizers.values():
        assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 / 3)


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
    from aegan.train import check_schedule_unchanged

    config = tiny_config(**{"train.steps": 10, "train.lr_decay": "linear", "train.lr_decay_start": 0.5})
    longer = tiny_config(**{"train.steps": 20, "train.lr_decay": "linear", "train.lr_decay_start": 0.5})
    check_schedule_unchanged(config.train, longer.train, done=5)  # steps 0-4 ran at the full rate in both
