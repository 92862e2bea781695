"""Atomic saves, exact resume, refusal of pickled objects, truncated files, divergence."""

import os

import pytest
import torch

from aegan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from aegan.runlog import DivergenceError
from aegan.train import Trainer, open_run
from tests.conftest import fit_interrupted_at, tiny_config


def _params(trainer):
    return {f"{n}.{k}": v.clone() for n, net in trainer.nets.items() for k, v in net.state_dict().items()}


def test_resume_ends_with_identical_parameters(tmp_path):
    full = Trainer(tiny_config(**{"train.steps": 6}), tmp_path / "full")
    full.fit(progress=False)

    part = Trainer(tiny_config(**{"train.steps": 3}), tmp_path / "part")
    part.fit(progress=False)
    resumed = open_run(tmp_path / "part", {"train.steps": 6})
    assert resumed.step == 3
    resumed.fit(progress=False)

    a, b = _params(full), _params(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    log_steps = [line for line in (tmp_path / "part" / "log.jsonl").read_text().splitlines()]
    assert len(log_steps) == 6


@pytest.mark.parametrize("lr_decay", ["none", "linear"])
def test_resume_after_interruption_past_the_checkpoint(tmp_path, lr_decay):
    """A run killed after its checkpoint (step 3) but before the next one resumes from step 3
    (with a learning-rate schedule too: it is a function of the step, not saved state)."""
    schedule = {"train.lr_decay": lr_decay, "train.lr_decay_start": 0.3}
    full = Trainer(tiny_config(**{"train.steps": 6}, **schedule), tmp_path / "full")
    full.fit(progress=False)
    interrupted = Trainer(tiny_config(**{"train.steps": 6, "train.checkpoint_every": 3}, **schedule), tmp_path / "cut")
    fit_interrupted_at(interrupted, 5)
    resumed = open_run(tmp_path / "cut")
    assert resumed.step == 3
    resumed.fit(progress=False)
    for key, value in _params(full).items():
        assert torch.equal(value, _params(resumed)[key]), key


def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(3)})

    def dying_write(self, data):  # the process dies half-way through writing the new file
        raise SystemExit("killed")

    import aegan.checkpoint as ck

    real_open = open

    class HalfFile:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(bytes(data)[:10])
            raise SystemExit("killed")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(ck, "open", lambda p, mode: HalfFile(real_open(p, mode)), raising=False)
    with pytest.raises(SystemExit):
        save_checkpoint(path, {"step": 2, "w": torch.zeros(3)})
    monkeypatch.undo()
    state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"], "temporary file left behind"


class Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_refuses_checkpoint_holding_a_pickled_object(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    torch.save({"format": "aegan-checkpoint/1", "step": 1, "payload": Evil(marker)}, path)
    with pytest.raises(CheckpointError, match="refused: it holds pickled objects"):
        load_checkpoint(path)
    assert not marker.exists(), "loading ran code from the checkpoint"


def test_truncated_and_foreign_files_are_clear_errors(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"step": 1, "w": torch.ones(100)})
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: os.path.getsize(good) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a torch checkpoint"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(2)}, foreign)
    with pytest.raises(CheckpointError, match="not an aegan checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        load_checkpoint(tmp_path / "missing.pt")


def test_divergence_names_phase_and_term_and_keeps_last_good_checkpoint(tmp_path):
    trainer = Trainer(tiny_config(**{"train.steps": 6, "train.checkpoint_every": 2, "train.log_every": 1}), tmp_path)
    original = trainer.method.generator_terms

    def poisoned(nets, batch, scratch):
        terms = original(nets, batch, scratch)
        if trainer.step >= 3:
            terms["adversarial"] = terms["adversarial"] * float("nan")
        return terms

    trainer.method.generator_terms = poisoned
    with pytest.raises(DivergenceError, match="step 4: phase 'generator', term 'adversarial'"):
        trainer.fit(progress=False)
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for net in state["nets"].values() for v in net.values())
