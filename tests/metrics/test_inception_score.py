"""Inception Score with a user-supplied network: the score's definition, the weights checks
(required, TorchScript only, output shape, pinned hash; no pickle executed), the CLI's exit 2
before training, and the hash recorded with the result; tiny TorchScript nets stand in."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import yaml

from aegan.cli import main
from aegan.config import ConfigError, build_config
from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext
from aegan.metrics.classifier import WeightsError, sha256_file
from aegan.metrics.inception_score import inception_score
from tests.metrics.feature_nets import PoolLogits, save_script


@pytest.fixture
def logits_file(tmp_path):
    return save_script(PoolLogits(), tmp_path / "is1008.pt")


def _raw(**params):
    return {"method": {"name": "nsgan"}, "data": {"name": "digits"},
            "model": {"family": "conv", "latent_dim": 3, "width": 4, "fc": 8},
            "train": {"steps": 2, "batch_size": 8, "seed": 0, "device": "cpu", "checkpoint_every": 2, "snapshots": 1,
                      "tensorboard": False},
            "eval": {"metrics": ["inception_score"], "n_samples": 20,
                     "params": {"inception_score": {"splits": 2, "batch_size": 10, **params}}}}


def test_score_is_the_class_count_for_confident_even_predictions_and_one_for_a_single_class():
    confident = torch.eye(8).repeat(3, 1) * 60.0  # 24 samples, 3 per class, near one-hot
    mean, std = inception_score(confident, splits=3)
    assert mean == pytest.approx(8.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    assert inception_score(torch.zeros(10, 8), 2) == pytest.approx((1.0, 0.0))
    assert inception_score(torch.tensor([[60.0, 0.0]] * 6), 1)[0] == pytest.approx(1.0)
    # two samples: p(y|x) = (0.9, 0.1) and (0.1, 0.9): IS = exp(KL((.9, .1) || (.5, .5)))
    logits = torch.tensor([[math.log(9.0), 0.0], [0.0, math.log(9.0)]], dtype=torch.float64)
    kl = 0.9 * math.log(1.8) + 0.1 * math.log(0.2)
    assert inception_score(logits, 1)[0] == pytest.approx(math.exp(kl), rel=1e-12)
    with pytest.raises(ValueError, match="cannot make 5 splits"):
        inception_score(torch.zeros(3, 4), 5)


def test_without_weights_the_config_fails_naming_the_parameter():
    with pytest.raises(ConfigError) as err:
        build_config(_raw())
    message = str(err.value)
    assert message.startswith("eval.params.inception_score.weights: ") and "\n" not in message
    assert "1008" in message and "TorchScript" in message


def test_cli_train_exits_2_before_training(tmp_path, capsys):
    config = tmp_path / "is.yaml"
    config.write_text(yaml.safe_dump(_raw()))
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "eval.params.inception_score.weights" in err and len(err.strip().splitlines()) == 1
    assert not (run / "checkpoints").exists()


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: save_script(PoolLogits(classes=10), p), "expected (2, 1008) logits"),
    (lambda p: torch.save(PoolLogits().state_dict(), p), "does not load as TorchScript"),
    (lambda p: p.write_bytes(b"\x80\x04K\x01."), "not a TorchScript archive"),
    (lambda p: None, "is not a file"),
])
def test_bad_weights_files_are_one_line_config_errors(tmp_path, make, message):
    path = tmp_path / "weights.pt"
    make(path)
    with pytest.raises(ConfigError) as err:
        build_config(_raw(weights=str(path)))
    assert str(err.value).startswith("eval.params.inception_score.weights: ") and message in str(err.value)


def test_a_pickle_payload_in_the_archive_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save({"weights": Evil()}, path)  # a zip archive whose data.pkl would call open()
    with pytest.raises(ConfigError, match="does not load as TorchScript"):
        build_config(_raw(weights=str(path)))
    assert not marker.exists()


def test_a_pinned_hash_must_match(logits_file):
    digest = sha256_file(logits_file)
    build_config(_raw(weights=str(logits_file), sha256=digest))
    with pytest.raises(ConfigError, match="not the pinned"):
        build_config(_raw(weights=str(logits_file), sha256="0" * 64))


def test_metric_reports_the_score_and_the_files_hash(logits_file):
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    real = data.sample(20, 3).x
    params = {"weights": str(logits_file), "splits": 2, "batch_size": 7, "device": "cpu"}
    diverse = METRICS["inception_score"](EvalContext(lambda n: real[:n], data, 20), params)
    same = METRICS["inception_score"](EvalContext(lambda n: real[:1].expand(n, -1, -1, -1), data, 20), params)
    assert diverse["weights_sha256"] == sha256_file(logits_file)
    assert same["inception_score"] == pytest.approx(1.0) and diverse["inception_score"] > 1.5
    with pytest.raises(WeightsError, match="eval.params.inception_score.weights"):
        METRICS["inception_score"](EvalContext(lambda n: real[:n], data, 20), {})


def _score_of(run, logits_file) -> float:
    """The Inception Score of a run's evaluation worked out here from its definition (Salimans et
    al. 2016): its 20 samples at the eval seed (1234) through the logits net, in 2 splits of 10,
    exp(mean_x KL(p(y|x) || p(y))) per split with p(y) the split's mean p(y|x), averaged."""
    from aegan.metrics.inception import inception_input
    from aegan.train import open_run

    trainer = open_run(run)
    net = torch.jit.load(str(logits_file))
    images = trainer.generate(20, 1234)
    with torch.no_grad():  # in the metric's batches of 10 (eval.params.inception_score.batch_size)
        logits = torch.cat([net(inception_input(images[i: i + 10])) for i in (0, 10)])
    log_p = torch.log_softmax(logits.double(), dim=1).numpy()  # log p(y|x), no 0 * log 0
    scores = []
    for part in (log_p[:10], log_p[10:]):
        log_marginal = np.log(np.exp(part).mean(axis=0))
        scores.append(math.exp(float((np.exp(part) * (part - log_marginal)).sum(axis=1).mean())))
    # barely trained samples score just above 1 (about 1.001): the comparison's tolerance (1e-8)
    # is a hundred-thousandth of what the score exceeds 1 by, and the two splits differ
    assert scores[0] != scores[1] and min(scores) > 1 + 1e-4
    return sum(scores) / 2


def test_cli_train_and_eval_record_the_score_and_hash(tmp_path, logits_file):
    config = tmp_path / "is.yaml"
    config.write_text(yaml.safe_dump(_raw(weights=str(logits_file))))
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--no-progress"]) == 0
    result = json.loads((run / "metrics.json").read_text())
    assert result["metrics"]["inception_score/weights_sha256"] == sha256_file(logits_file)
    assert result["metric_params"]["inception_score"]["weights"] == str(logits_file)
    assert result["metrics"]["inception_score/inception_score"] == pytest.approx(_score_of(run, logits_file), rel=1e-8)
    logits_file.unlink()  # a run whose weights went away: eval says so, exit 2
    assert main(["eval", str(run)]) == 2
