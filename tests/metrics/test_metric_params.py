"""Metric parameters: set from ``eval.params``, validated by each metric's own model,
threaded through ``evaluate`` and recorded with their defaults filled in."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from aegan.cli import main
from aegan.config import ConfigError, build_config
from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext, evaluate, resolved_params
from tests.conftest import TINY, tiny_raw

TINY_D = {"max_steps": 3, "width": 4, "fc": 8, "test_draws": 1, "batch_size": 16}


def _digits_context(n_samples: int = 64) -> EvalContext:
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    return EvalContext(lambda n: torch.rand(n, 1, 8, 8), data, n_samples, seed=0)


def test_third_party_reports_one_entry_per_given_sigma():
    params = {"third_party": {"sigmas": [0.1, 0.3, 0.7], **TINY_D}}
    out = evaluate(_digits_context(), ["third_party"], params)
    sigmas = {key.split("/")[1] for key in out if key.endswith("/missed_modes")}
    assert sigmas == {"sigma0.1", "sigma0.3", "sigma0.7"}


def test_n_samples_sets_the_samples_a_metric_draws():
    asked = []
    data = build_dataset("ring8", DATASETS["ring8"][0](), 0, "cpu")
    ctx = EvalContext(lambda n: asked.append(n) or data.centres[torch.arange(n) % 8], data, 100)
    evaluate(ctx, ["mixture", "mixture"], {"mixture": {"n_samples": 40}})
    evaluate(ctx, ["mixture"])
    assert asked == [40, 40, 100]


def test_mixture_k_std_changes_what_counts_as_high_quality():
    data = build_dataset("ring8", DATASETS["ring8"][0](), 0, "cpu")
    off = data.centres + torch.tensor([2.0 * data.std, 0.0])  # 2 std from every centre
    ctx = EvalContext(lambda n: off[torch.arange(n) % 8], data, 80)
    assert evaluate(ctx, ["mixture"])["mixture/high_quality"] == 1.0
    assert evaluate(ctx, ["mixture"], {"mixture": {"k_std": 1.0}})["mixture/high_quality"] == 0.0


def test_defaults_are_the_documented_presets():
    full, fast = resolved_params(["third_party", "third_party_fast"]).values()
    keys = ("sigmas", "max_steps", "eval_every", "patience", "width", "fc", "test_draws")
    assert [full[k] for k in keys] == [[0.25, 0.5], 20000, 250, 4, 32, 256, 4]
    assert [fast[k] for k in keys] == [[0.5], 2000, 100, 3, 16, 128, 2]
    assert full["threshold"] == fast["threshold"] == 0.8
    assert full["stop_on"] == fast["stop_on"] == "loss" and full["architecture"] == fast["architecture"] == "run"
    assert resolved_params(["mixture"])["mixture"] == {"n_samples": None, "k_std": 3.0, "strict_fraction": 0.1}


def test_every_metric_owns_a_frozen_strict_parameter_model():
    for name, metric in METRICS.items():
        assert metric.Params.model_config.get("extra") == "forbid", name
        assert metric.Params.model_config.get("frozen") is True, name


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"eval.params.third_party.sigmaz": [0.5]},
         "eval.params.third_party.sigmaz: unknown key; accepted: architecture, batch_size, eval_every, fc, held_out,"),
        ({"eval.params.third_party.sigmas": [-1.0]}, "eval.params.third_party.sigmas.0:"),
        ({"eval.params.third_party.sigmas": []}, "eval.params.third_party.sigmas:"),
        ({"eval.params.third_party_fast.sigmas": [0.5, 0.5]}, "sigmas must be distinct"),
        ({"eval.params.mixture.k_std": 0}, "eval.params.mixture.k_std:"),
        ({"eval.params.mnist_modes.samples": 10}, "eval.params.mnist_modes.samples: unknown key; accepted: n_samples"),
        ({"eval.params.nosuch.x": 1}, "eval.params.nosuch: unknown metric; accepted: classifier_is"),
        ({"eval.params.mixture": 3}, "eval.params.mixture:"),
    ],
)
def test_bad_parameters_are_one_line_config_errors(override, message):
    with pytest.raises(ConfigError) as err:
        build_config(tiny_raw(**override))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_config_keeps_given_keys_validated_and_omits_empty_params():
    assert "params" not in build_config(tiny_raw()).to_dict()["eval"]  # run dirs saved before params still match
    cfg = build_config(tiny_raw(**{"eval.params.third_party.sigmas": [1, 0.5]}))
    assert cfg.to_dict()["eval"]["params"] == {"third_party": {"sigmas": [1.0, 0.5]}}
    assert build_config(cfg.to_dict()).to_dict() == cfg.to_dict()


def _tiny_run(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--train.steps=2", "--no-progress"]) == 0
    return run


def test_eval_cli_takes_eval_overrides_only(tmp_path, capsys):
    run = _tiny_run(tmp_path)
    capsys.readouterr()
    assert main(["eval", str(run), "--eval.params.mixture.k_sdt=1"]) == 2
    assert "eval.params.mixture.k_sdt: unknown key; accepted: k_std" in capsys.readouterr().err
    assert main(["eval", str(run), "--train.steps=3"]) == 2
    assert "takes only --eval.key overrides" in capsys.readouterr().err
    assert main(["eval", str(run), "--metrics", "mixture", "--eval.params.mixture.k_std=2.5"]) == 0


def test_eval_cli_uses_and_records_the_parameters(tmp_path):
    run = _tiny_run(tmp_path)
    assert main(["eval", str(run), "--eval.params.mixture.k_std=1e-9"]) == 0
    result = json.loads((run / "metrics.json").read_text())
    assert result["metric_params"]["mixture"]["k_std"] == 1e-9
    assert result["metrics"]["mixture/high_quality"] == 0.0
