"""The cost model of `aegan compare --dry-run` (aegan.costs) and the table it reads, as
benchmarks/method_cost.py writes it."""

import json
import subprocess
import sys
from pathlib import Path

from aegan.costs import calibrate, cost_table, protocol_of, ratio
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
    assert protocol_of(config) == "2d"
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
