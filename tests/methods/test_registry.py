"""Every registered method: one step on CPU with tiny nets; finite losses; each phase moves
exactly the nets it declares, and every one of them receives a gradient."""

from __future__ import annotations

import io

import pytest
import torch

from aegan.methods import METHODS, Method
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods._helpers import check_one_step


@pytest.mark.parametrize("name", list(METHODS))
def test_method_runs_one_step(name, tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": name}), tmp_path)
    assert set(trainer.nets) >= set(trainer.method.nets), "build_nets must build every declared net"
    phases = check_one_step(trainer, name)
    assert {n for p in phases for n in p.updates}, "no phase updates anything"


# the methods that keep state across steps (they override state_dict), with settings under which
# two tiny steps move it away from a fresh method's: BEGAN's k_t (from k_0 = 0.5, so that the
# clip at 0 cannot keep it where it started), GAN+AE+alpha_L's stage, switch step and alpha_L,
# unrolled GAN's shadow of D's Adam moments
STATEFUL = {"began": {"method.k0": 0.5}, "gan_ae_decay": {}, "unrolled": {}}


def _same_state(a, b) -> bool:
    """Deep equality of method states: dicts, lists, tensors (exact), numbers, None."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same_state, a, b))
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    return type(a) is type(b) and a == b


def test_the_stateful_list_is_every_method_that_keeps_state():
    assert {name for name, cls in METHODS.items() if cls.state_dict is not Method.state_dict} == set(STATEFUL)


@pytest.mark.parametrize("name", list(METHODS))
def test_method_has_summary_and_state_roundtrip(name, tmp_path):
    """A method's state after two training steps, saved as a checkpoint saves it (torch.save,
    read back with weights_only) and loaded into a fresh method, is the same state and gives
    the same final numbers."""
    cls = METHODS[name]
    assert cls.summary and "\n" not in cls.summary
    trainer = Trainer(tiny_config(**{"method.name": name, "train.steps": 2, "eval.metrics": [],
                                     **STATEFUL.get(name, {})}), tmp_path)
    trainer.fit(progress=False)
    state = trainer.method.state_dict()
    fresh = cls(trainer.method.config, latent_dim=2)
    if name in STATEFUL:
        assert not _same_state(fresh.state_dict(), state), "training did not move the state: nothing to compare"
    else:
        assert state == {}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert _same_state(fresh.state_dict(), state)
    assert fresh.final_metrics() == trainer.method.final_metrics()
