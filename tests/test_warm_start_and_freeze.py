"""train.init_from / init_nets (warm start from a checkpoint) and train.freeze (nets never updated)."""

import json
import math

import pytest
import torch

from aegan.config import ConfigError
from aegan.train import Trainer
from tests.conftest import tiny_config

QUIET = {"eval.metrics": []}


def _weights(net):
    return [p.detach().clone() for p in net.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_a_frozen_generator_keeps_its_weights_and_its_phase_is_skipped(tmp_path):
    trainer = Trainer(tiny_config(**QUIET, **{"train.freeze": ["generator"]}), tmp_path / "run")
    g0, d0 = _weights(trainer.nets["generator"]), _weights(trainer.nets["discriminator"])
    trainer.fit(progress=False)
    assert _same(g0, _weights(trainer.nets["generator"]))
    assert not _same(d0, _weights(trainer.nets["discriminator"]))
    first = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[0])
    assert any(k.startswith("loss/discriminator/") for k in first)
    assert not any(k.startswith("loss/generator/") for k in first)
    assert "generator" not in trainer.optimizers


def test_a_frozen_net_inside_a_shared_phase_is_left_out_of_the_update(tmp_path):
    # VLGAN's VAE phase updates encoder and generator: freezing the generator keeps the encoder's update
    trainer = Trainer(tiny_config(**QUIET, **{"method.name": "vlgan", "train.freeze": ["generator"]}), tmp_path / "r")
    g0, e0 = _weights(trainer.nets["generator"]), _weights(trainer.nets["encoder"])
    trainer.fit(progress=False)
    assert _same(g0, _weights(trainer.nets["generator"])) and not _same(e0, _weights(trainer.nets["encoder"]))


def test_warm_start_copies_the_named_nets_into_another_method(tmp_path):
    source = Trainer(tiny_config(**QUIET), tmp_path / "source")
    source.fit(progress=False)
    run = Trainer(tiny_config(**QUIET, **{"method.name": "vlgan", "train.seed": 5,
                                          "train.init_from": str(tmp_path / "source")}), tmp_path / "warm")
    for name in ("generator", "discriminator"):
        assert _same(_weights(source.nets[name]), _weights(run.nets[name]))
    only_d = Trainer(tiny_config(**QUIET, **{"train.seed": 5, "train.init_nets": ["discriminator"],
                                             "train.init_from": str(tmp_path / "source" / "checkpoints" / "last.pt")}),
                     tmp_path / "only_d")
    assert _same(_weights(source.nets["discriminator"]), _weights(only_d.nets["discriminator"]))
    assert not _same(_weights(source.nets["generator"]), _weights(only_d.nets["generator"]))


def test_warm_start_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(ConfigError, match="init_nets needs init_from"):
        tiny_config(**{"train.init_nets": ["generator"]})
    with pytest.raises(ConfigError, match=r"train.freeze.0: method 'nsgan' has no net 'encoder'; its nets: generator"):
        tiny_config(**{"train.freeze": ["encoder"]})
    with pytest.raises(ConfigError, match="neither a checkpoint file nor a run directory"):
        Trainer(tiny_config(**{"train.init_from": str(tmp_path / "nothing")}), tmp_path / "a")
    source = Trainer(tiny_config(**QUIET), tmp_path / "source")
    source.fit(progress=False)
    with pytest.raises(ConfigError, match="holds the nets"):
        Trainer(tiny_config(**{"method.name": "vlgan", "train.init_nets": ["encoder"],
                               "train.init_from": str(tmp_path / "source")}), tmp_path / "b")
    with pytest.raises(ConfigError, match="net 'generator' .* does not fit"):
        Trainer(tiny_config(**{"model.hidden": 8, "train.init_from": str(tmp_path / "source")}), tmp_path / "c")


def test_the_options_are_left_out_of_saved_configs_when_off():
    assert not {"init_from", "init_nets", "freeze"} & set(tiny_config().to_dict()["train"])
    assert tiny_config(**{"train.freeze": ["generator"]}).to_dict()["train"]["freeze"] == ["generator"]


def _grad_norm(loss, params) -> float:
    """||d loss / d params||_2, in float64, from a backward pass of ``loss`` alone."""
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads if g is not None))


def test_grad_per_term_logs_each_terms_own_gradient_norm(tmp_path):
    """Each logged term norm is the gradient norm of that term alone, recomputed here for every
    step of the generator phase (a fresh forward per term, on the batch and weights the loop
    uses), so that a swap of the adversarial and reconstruction labels fails; the phase's
    total is the norm of the summed gradient."""
    trainer = Trainer(tiny_config(**QUIET, **{"method.name": "gan_ae", "method.reconstruction_weight": 1.0,
                                              "train.grad_per_term": True, "train.steps": 3}), tmp_path / "run")
    expected, run_phase = [], trainer.run_phase
    params = list(trainer.nets["generator"].parameters())

    def recomputing(phase, batch, scratch):
        if phase.name == "generator":
            rng = torch.get_rng_state()
            norms = {}
            for name in ("adversarial", "reconstruction", "total"):
                torch.set_rng_state(rng)
                terms = phase.terms(trainer.nets, batch, {})
                norms[name] = _grad_norm(sum(terms.values()) if name == "total" else terms[name], params)
            torch.set_rng_state(rng)  # the loop's own forward draws what it would have drawn
            expected.append(norms)
        return run_phase(phase, batch, scratch)

    trainer.run_phase = recomputing
    trainer.fit(progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(rows) == len(expected) == 3
    for row, want in zip(rows, expected):
        # the two terms' gradients differ by far more than the tolerance: a swap cannot pass
        adv, rec = want["adversarial"], want["reconstruction"]
        assert abs(adv - rec) > 0.1 * max(adv, rec)
        assert row["grad/generator/term/adversarial"] == pytest.approx(want["adversarial"], rel=1e-4)
        assert row["grad/generator/term/reconstruction"] == pytest.approx(want["reconstruction"], rel=1e-4)
        assert row["grad/generator/generator"] == pytest.approx(want["total"], rel=1e-4)
        assert not any("/term/" in k for k in row if k.startswith("grad/discriminator/"))  # single-term phase
