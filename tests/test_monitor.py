"""Live warnings (aegan.monitor): vanishing generator gradient, D(G(z)) pinned, collapse in
progress on 2D mixtures; each fires at its threshold and not below it, once; a resumed run
ends with the same warnings as an uninterrupted one."""

import json

import torch
import yaml

from aegan import monitor as mon
from aegan.cli import main
from aegan.data import build_dataset
from aegan.monitor import Monitor
from tests.conftest import TINY, tiny_config


def _feed(monitor, values, key="grad/generator/generator", start=1):
    for i, v in enumerate(values):
        monitor.observe(start + i, {key: v})


def test_vanishing_fires_past_1000x_not_at_100x():
    quiet = Monitor(None, say=lambda s: None)
    _feed(quiet, [1.0] * 20 + [1e-2] * 40)
    assert quiet.warnings == []
    said = []
    loud = Monitor(None, say=said.append)
    _feed(loud, [1.0] * 20 + [1e-4] * 40, key="grad/generator/term/adversarial")
    assert [w["kind"] for w in loud.warnings] == ["vanishing"] and loud.warnings[0]["step"] == 40
    assert "grad/generator/term/adversarial" in said[0] and "10,000x smaller" in said[0]
    zero = []
    _feed(Monitor(None, say=zero.append), [0.9] * 20 + [0.0] * 40)  # a gradient of exactly 0: no absurd ratio
    assert zero and "fell from 0.9 at the start to 0 (exactly 0)" in zero[0]


def test_pinned_needs_the_whole_window():
    m = Monitor(None, say=lambda s: None)
    for step in range(1, mon.PIN_STEPS):
        m.observe(step, {"diag/d_fake": 0.001})
    m.observe(mon.PIN_STEPS, {"diag/d_fake": 0.5})  # one step off the rail resets the count
    assert m.warnings == []
    for step in range(mon.PIN_STEPS + 1, 2 * mon.PIN_STEPS + 1):
        m.observe(step, {"diag/d_fake": 0.999})
    assert [(w["kind"], w["step"]) for w in m.warnings] == [("pinned", 2 * mon.PIN_STEPS)]
    assert "near 1 (D accepts every sample) since step 201" in m.warnings[0]["message"]


def test_collapse_fires_when_a_snapshot_loses_modes():
    cfg = tiny_config()
    data = build_dataset(cfg.data.name, cfg.data.params, 0, "cpu")
    m = Monitor(data, say=lambda s: None)
    everywhere = data.centres.repeat_interleave(50, dim=0)
    one_mode = data.centres[:1].repeat(400, 1)
    m.observe_snapshot(100, everywhere.numpy())
    m.observe_snapshot(200, everywhere.numpy())
    assert m.warnings == []
    m.observe_snapshot(300, one_mode.numpy())
    m.observe_snapshot(400, one_mode.numpy())  # the same loss is not reported twice
    assert [(w["kind"], w["step"]) for w in m.warnings] == [("collapse", 300)]
    assert "1 strict modes, fewer than the 8 at step 100" in m.warnings[0]["message"]
    images = Monitor(object(), say=lambda s: None)  # a dataset without mixture centres
    images.observe_snapshot(1, torch.zeros(4, 1, 8, 8).numpy())
    assert images.warnings == []


def test_a_resumed_run_ends_with_the_same_warnings(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mon, "PIN_LOW", 0.9)  # D(G(z)) < 0.9 for 2 steps counts as pinned here
    monkeypatch.setattr(mon, "PIN_STEPS", 2)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(TINY))
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main(["train", str(config), "--run-dir", str(whole), "--no-progress"]) == 0
    assert "aegan: warning at step 2 (nsgan on ring8, seed 0): D(G(z)) has stayed near 0" in capsys.readouterr().err
    assert main(["train", str(config), "--run-dir", str(parts), "--train.steps=3", "--no-progress"]) == 0
    assert main(["train", "--resume", str(parts), "--train.steps=6", "--no-progress"]) == 0
    warnings = [json.loads((run / "metrics.json").read_text())["warnings"] for run in (whole, parts)]
    assert warnings[0] == warnings[1] and warnings[0][0]["kind"] == "pinned"


def test_a_comparisons_live_warnings_name_the_run(tmp_path, monkeypatch, capsys):
    """Parallel runs of `aegan compare` print into one terminal: each warning names its row (a
    variant with its method), its benchmark (the config's name) and its seed."""
    monkeypatch.setattr(mon, "PIN_LOW", 0.9)
    monkeypatch.setattr(mon, "PIN_STEPS", 2)
    config = tmp_path / "tiny_ring.yaml"
    config.write_text(yaml.safe_dump({**TINY, "methods": {"ns_variant": {"name": "nsgan"}}}))
    assert main(["compare", str(config), "--methods", "nsgan,ns_variant", "--seeds", "1-1", "--workers", "1",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "aegan: warning at step 2 (nsgan on tiny_ring, seed 1): D(G(z)) has stayed near 0" in err
    assert "aegan: warning at step 2 (ns_variant (nsgan) on tiny_ring, seed 1): D(G(z)) has stayed near 0" in err
    record = json.loads((tmp_path / "out" / "tiny_ring" / "nsgan" / "seed1" / "metrics.json").read_text())
    assert record["warnings"][0]["message"].startswith("D(G(z)) has stayed near 0")  # the kept message: as before
