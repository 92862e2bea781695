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


def test_json_files_write_nan_and_inf_as_null_and_stay_strict_json(tmp_path):
    """One convention for non-finite numbers in every JSON file (checkpoint.json_text): null."""
    import json

    from aegan.checkpoint import atomic_write_json, json_text
    from aegan.results.records import dumps, read_log
    from aegan.runlog import append_line

    nan, inf = float("nan"), float("inf")
    assert json_text({"a": nan, "b": [inf, -inf, 1.5], "c": (2, "x")}, sort_keys=True) == \
        '{"a": null, "b": [null, null, 1.5], "c": [2, "x"]}'

    def strict(text):
        return json.loads(text, parse_constant=lambda token: pytest.fail(f"non-standard JSON token {token}"))

    atomic_write_json(tmp_path / "m.json", {"metrics": {"fid/fid": nan}})
    assert strict((tmp_path / "m.json").read_text()) == {"metrics": {"fid/fid": None}}
    append_line(tmp_path / "eval.jsonl", {"step": 3, "fid/fid": inf})
    assert read_log(tmp_path / "eval.jsonl") == [{"step": 3, "fid/fid": None}]
    assert strict(dumps({"samples_preview": {"step": 2, "points": [[nan, 1.0]]}})) == \
        {"samples_preview": {"step": 2, "points": [[None, 1.0]]}}


def test_a_divergence_at_step_1_before_any_checkpoint_writes_a_readable_record(tmp_path, capsys):
    """`aegan train ring8_nsgan.yaml --train.lr=1e300`: NaN from step 1, seen at the first log flush
    (step 10) after NaN sample snapshots (steps 2-8), before any checkpoint: exit 3 and one line, not a
    traceback, and a record that strict JSON readers take (NaN as null)."""
    import json

    import yaml

    from aegan.cli import main
    from aegan.results.records import read_record
    from tests.conftest import tiny_raw

    config = tmp_path / "hot.yaml"
    config.write_text(yaml.safe_dump(tiny_raw(**{"train.lr": 1e300, "train.steps": 20, "train.log_every": 10,
                                                 "train.checkpoint_every": 20, "train.snapshots": 10})))
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--no-progress"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("aegan: training diverged: non-finite value at step 1: ") and "\n" not in err
    assert not (run / "checkpoints" / "last.pt").exists()
    assert sorted(p.name for p in (run / "samples").iterdir())[:2] == ["step_0000002.npy", "step_0000004.npy"]
    text = (run / "record.json").read_text()
    json.loads(text, parse_constant=lambda token: pytest.fail(f"record.json holds {token}"))
    record = read_record(run / "record.json")
    assert (record["status"], record["exit_code"], record["steps"]) == ("diverged", 3, 20)
    assert record["samples_preview"]["step"] == 8 and record["samples_preview"]["points"][0] == [None, None]
