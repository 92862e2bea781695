"""Every registered method: one step on CPU with tiny nets; finite losses; each phase moves
exactly the nets it declares, and every one of them receives a gradient."""

from __future__ import annotations

import pytest
from aegan.methods import METHODS
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods._helpers import check_one_step


@pytest.mark.parametrize("name", list(METHODS))
def test_method_runs_one_step(name, tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": name}), tmp_path)
    assert set(trainer.nets) >= set(trainer.method.nets), "build_nets must build every declared net"
    phases = check_one_step(trainer, name)
    assert {n for p in phases for n in p.updates}, "no phase updates anything"


@pytest.mark.parametrize("name", list(METHODS))
def test_method_has_summary_and_state_roundtrip(name):
    cls = METHODS[name]
    assert cls.summary and "\n" not in cls.summary
    method = cls(cls.Config(), latent_dim=2)
    method.load_state_dict(method.state_dict())
