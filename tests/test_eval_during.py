"""Metrics during training (eval.every): eval.jsonl, the record's eval_history, the same
training with or without them, and no duplicate or stale points after a resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

import aegan.training.evaluation as evaluation_module
from aegan.checkpoint import load_checkpoint
from aegan.results.records import EVAL_TIME, read_record
from aegan.train import Trainer, open_run
from tests.conftest import fit_interrupted_at, tiny_config

EVERY = {"eval.every": 2, "eval.every_n_samples": 100}


def _params(trainer):
    return {f"{n}.{k}": v.clone() for n, net in trainer.nets.items() for k, v in net.state_dict().items()}


def _history(run_dir):
    return [json.loads(line) for line in (run_dir / "eval.jsonl").read_text().splitlines()]


@pytest.fixture
def rng_hungry_metrics(monkeypatch):
    """Metrics that draw from the global torch and numpy RNGs, as a subset-sampling metric may."""
    real = evaluation_module.evaluate

    def drawing(*args, **kwargs):
        torch.rand(3), np.random.rand(3)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation_module, "evaluate", drawing)


def test_metrics_during_training_leave_the_training_and_its_protocol_as_they_are(tmp_path, rng_hungry_metrics):
    plain = Trainer(tiny_config(), tmp_path / "plain")
    plain_result = plain.fit(progress=False)
    watched = Trainer(tiny_config(**EVERY), tmp_path / "watched")
    watched_result = watched.fit(progress=False)

    for key, value in _params(plain).items():
        assert torch.equal(value, _params(watched)[key]), key
    assert watched_result["metrics"] == plain_result["metrics"]
    history = _history(tmp_path / "watched")
    assert [row["step"] for row in history] == [2, 4]  # the final step is metrics.json's
    assert set(history[0]) >= {"step", "mixture/modes", "mixture/high_quality", "mixture/kl"}
    assert not (tmp_path / "plain" / "eval.jsonl").exists()
    assert "every" not in yaml.safe_load((tmp_path / "plain" / "config.yaml").read_text())["eval"]

    record, plain_record = read_record(tmp_path / "watched" / "record.json"), read_record(tmp_path / "plain" / "record.json")
    assert record["eval_history"]["step"] == [2, 4]
    assert record["eval_history"]["mixture/modes"] == [row["mixture/modes"] for row in history]
    assert record["eval_history"][EVAL_TIME] == [row[EVAL_TIME] for row in history]  # for the budget curves
    assert plain_record["eval_history"] == {"step": []}
    assert record["protocol_hash"] == plain_record["protocol_hash"]  # they may share a table


def test_a_resume_drops_the_evaluations_written_past_the_checkpoint(tmp_path):
    cut = Trainer(tiny_config(**EVERY, **{"train.checkpoint_every": 3}), tmp_path / "cut")
    fit_interrupted_at(cut, 5)
    assert [row["step"] for row in _history(tmp_path / "cut")] == [2, 4]  # 4 is past the checkpoint (3)
    resumed = open_run(tmp_path / "cut")
    saved = load_checkpoint(tmp_path / "cut" / "checkpoints" / "last.pt")
    assert saved["step"] == 3 and 0 < saved["train_cpu_seconds"] == resumed.train_cpu_seconds  # CPU seconds resume
    resumed.fit(progress=False)
    assert resumed.train_cpu_seconds > saved["train_cpu_seconds"]
    whole = Trainer(tiny_config(**EVERY), tmp_path / "whole")
    whole.fit(progress=False)
    untimed = lambda rows: [{k: v for k, v in row.items() if k != EVAL_TIME} for row in rows]  # noqa: E731
    assert untimed(_history(tmp_path / "cut")) == untimed(_history(tmp_path / "whole"))  # the seconds are the clock's
    seconds = [row[EVAL_TIME] for row in _history(tmp_path / "cut")]
    assert 0 < seconds[0] <= seconds[1]  # the resumed run counts on from the checkpoint's training seconds


def test_periodic_evaluation_is_checked_when_the_config_is_loaded():
    from aegan.config import ConfigError

    for bad in ({"eval.every": -1}, {"eval.every_n_samples": 0}):
        with pytest.raises(ConfigError, match="every"):
            tiny_config(**bad)


def test_the_run_passes_its_device_to_the_metrics(tmp_path, monkeypatch):
    """The metrics' networks run on the run's device (they used to pick cuda whenever present;
    tests/metrics/test_mnist_metrics.py checks a metric keeps to the context's device)."""
    seen, real = [], evaluation_module.evaluate

    def watching(ctx, *args, **kwargs):
        seen.append(ctx.device)
        return real(ctx, *args, **kwargs)

    monkeypatch.setattr(evaluation_module, "evaluate", watching)
    Trainer(tiny_config(**EVERY), tmp_path / "run").fit(progress=False)
    assert seen == ["cpu", "cpu", "cpu"]  # steps 2 and 4, and the end
