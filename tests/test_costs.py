"""The cost model of `aegan compare --dry-run` (aegan.costs) and the table it reads, as
benchmarks/method_cost.py writes it."""

import json
import subprocess
import sys
from pathlib import Path

from aegan.costs import calibrate, cost_table, cost_protocol, ratio
from aegan.methods import METHODS
from tests.conftest import tiny_config

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_table_holds_every_registered_method_and_the_2d_variants():
    ratios = cost_table()["protocols"]["2d"]["ratios"]
    assert ratios["nsgan"] == 1.0
    assert set(METHODS) <= set(ratios), sorted(set(METHODS) - set(ratios))
    assert all(r > 0 for r in ratios.values())
    assert {"wgan_gp_lr1e3", "gan_rl_1g"} <= set(ratios)


def test_ratio_of_a_label_its_method_or_none():
    table = {"protocols": {"2d": {"ratios": {"nsgan": 1.0, "wgan_gp": 6.0, "wgan_gp_lr1e3": 5.5}}}}
    assert ratio("wgan_gp_lr1e3", "wgan_gp", "2d", table) == (5.5, "table")
    assert ratio("wgan_gp[train.lr=0.1]", "wgan_gp", "2d", table) == (6.0, "table as wgan_gp")
    assert ratio("gan", "gan", "2d", table) == (None, "unknown")
    assert ratio("nsgan", "nsgan", "images", table) == (1.0, "table, 2D ratio")  # no images table yet


def test_protocol_of_a_config_and_calibration():
    config = tiny_config()
    assert cost_protocol(config) == "2d"
    ms = calibrate(config, steps=3, warmup=1)
    assert ms > 0 and calibrate(config) == ms  # cached per data, nets, batch, device


def test_method_cost_writes_a_table_the_estimate_reads(tmp_path):
    out = tmp_path / "cost.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "method_cost.py"), "--methods",
                           "nsgan,gan,wgan_gp_lr1e3", "--steps", "2", "--blocks", "1", "--warmup", "1", "--json",
                           str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    table = json.loads(out.read_text())
    ratios = table["protocols"]["2d"]["ratios"]
    assert set(ratios) == {"nsgan", "gan", "wgan_gp_lr1e3"} and ratios["nsgan"] == 1.0
    assert ratio("gan", "gan", "2d", table)[0] == ratios["gan"] > 0
    assert "| wgan_gp_lr1e3 |" in done.stdout and "| 6x |" in done.stdout  # a variant: its method's target


def test_a_costs_kind_counts_it_in_the_plans_totals():
    from aegan.costs import Cost

    kinds = [Cost(3.0, "measured", "finished runs").kind, Cost(2.0, "table as wgan_gp, 2D ratio").kind,
             Cost(2.0, "table").kind, Cost(None, "unknown", "why").kind]
    assert kinds == ["measured", "table", "table", "unknown"]


def _own_images_copy_of(shipped: str, tmp_path) -> Path:
    """A user's copy of a shipped config with its data pointed at their own folder."""
    import yaml

    raw = yaml.safe_load((ROOT / shipped).read_text())
    raw["data"] = {"name": "image_folder", "root": str(tmp_path / "imgs"), "resolution": 32}
    mine = tmp_path / "my_images.yaml"
    mine.write_text(yaml.safe_dump(raw))
    return mine


def test_a_full_scale_config_copied_onto_a_cpu_is_told_its_time_and_the_reduced_config(tmp_path, monkeypatch):
    from aegan import costs
    from aegan.config import load_config

    mine = _own_images_copy_of("configs/images/cifar10_resnet.yaml", tmp_path)
    cfg = load_config(mine)
    timed = []
    monkeypatch.setattr(costs, "calibrate", lambda config, *a, **k: timed.append(config) or 400.0)  # 0.4 s a step
    r = ratio("gan_rl", "gan_rl", "images")[0]
    hours = 200_000 * r * 0.4 / 3600
    note = costs.long_run_note(cfg, cfg.train.steps, mine)
    assert note.startswith(f"aegan: note: this run will take ~{hours:,.0f} h ({hours / 24:.1f} days) of training "
                           "on this machine (gan_rl ") and "\n" not in note
    assert "configs/images/cifar10_resnet_cpu.yaml is its reduced scale for a CPU" in note  # found by content
    assert timed[0].train.compile is False and timed[0].model == cfg.model  # NS-GAN timed on the run's nets, eager
    assert costs.long_run_note(cfg, 5_000, mine) is None  # 5,000 steps: ~1.3 h, below LONG_RUN_HOURS
    assert costs.long_run_note(cfg, costs.MIN_ESTIMATED_STEPS - 1, mine) is None and len(timed) == 2  # not timed
    assert costs.reduced_config(load_config(ROOT / "configs/images/cifar10_resnet.yaml"),
                                ROOT / "configs/images/cifar10_resnet.yaml").name == "cifar10_resnet_cpu.yaml"
    assert costs.reduced_config(cfg, ROOT / "configs/images/cifar10_resnet_cpu.yaml") is None  # already reduced
    other = load_config(_own_images_copy_of("configs/images/image_folder_example.yaml", tmp_path))
    assert costs.reduced_config(other, tmp_path / "my_images.yaml") is None  # no reduced version shipped


def test_train_says_a_long_run_before_it_starts_and_trains_as_without(tmp_path, monkeypatch, capsys):
    """The estimate times NS-GAN before the run's Trainer seeds the RNGs: the run is unchanged."""
    import shutil

    import torch
    import yaml

    from aegan import costs
    from aegan.checkpoint import load_checkpoint
    from aegan.cli import main
    from tests.conftest import TINY

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    shutil.copy(config, tmp_path / "tiny_cpu.yaml")
    assert main(["train", str(config), "--run-dir", str(tmp_path / "quiet"), "--no-progress"]) == 0
    assert "aegan: note" not in capsys.readouterr().err  # 6 steps: not even timed
    monkeypatch.setattr(costs, "MIN_ESTIMATED_STEPS", 1)
    monkeypatch.setattr(costs, "LONG_RUN_HOURS", 0.0)  # every run is "long"
    assert main(["train", str(config), "--run-dir", str(tmp_path / "told"), "--no-progress"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("aegan: note: this run will take ~0.0 h of training on this machine (nsgan 1.00x NS-GAN")
    assert first.endswith(f"{tmp_path / 'tiny_cpu.yaml'} is its reduced scale for a CPU; fewer steps: --train.steps=N")
    quiet, told = (load_checkpoint(tmp_path / run / "checkpoints" / "last.pt")["nets"] for run in ("quiet", "told"))
    assert all(torch.equal(quiet[n][k], told[n][k]) for n in quiet for k in quiet[n])


def test_compare_says_a_long_run_once_per_config_before_it_starts(tmp_path, monkeypatch, capsys):
    import shutil

    import yaml

    from aegan import costs
    from aegan.cli import main
    from tests.conftest import TINY

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    shutil.copy(config, tmp_path / "tiny_cpu.yaml")
    monkeypatch.setattr(costs, "MIN_ESTIMATED_STEPS", 1)
    monkeypatch.setattr(costs, "LONG_RUN_HOURS", 0.0)  # every run is "long"
    assert main(["compare", str(config), "--methods", "nsgan,gan", "--seeds", "2", "--workers", "1", "--no-progress",
                 "--out", str(tmp_path / "out")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("aegan: note: this run")]
    assert len(notes) == 1 and "(nsgan 1.00x NS-GAN" in notes[0] and "tiny_cpu.yaml is its reduced scale" in notes[0]
