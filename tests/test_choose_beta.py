"""benchmarks/choose_beta.py: beta is chosen on held-out seeds, by the mean score, worked by hand."""

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "choose_beta.py"


def _module():
    spec = importlib.util.spec_from_file_location("choose_beta", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_seeds_of_reported_tables_are_refused():
    cb = _module()
    assert cb.held_out([100, 101]) == [100, 101]
    with pytest.raises(SystemExit, match=r"\[0\] are seeds of reported tables"):
        cb.held_out([0, 100])


def test_the_best_mean_wins_and_lower_is_better_where_the_metric_says_so():
    cb = _module()
    # MODE score, two seeds: means 0.4, 0.5, 0.3 -> beta 1
    values = {0.1: [{"m": 0.3}, {"m": 0.5}], 1.0: [{"m": 0.6}, {"m": 0.4}], 10.0: [{"m": 0.3}, {"m": 0.3}]}
    means = cb.mean_scores(values, ["m"])
    assert means[1.0]["m"] == pytest.approx(0.5) and means[0.1]["m"] == pytest.approx(0.4)
    assert cb.choose(means, (("m", +1),)) == 1.0
    assert cb.choose(means, (("m", -1),)) == 10.0  # FID-like: the lowest mean
    # modes first, high-quality share to break the tie; a seed without the metric (diverged) loses
    values = {0.01: [{"modes": 25, "hq": 0.90}], 0.05: [{"modes": 25, "hq": 0.95}], 0.2: [{"modes": 24, "hq": 0.99}],
              0.5: [{"hq": 0.99}]}
    means = cb.mean_scores(values, ["modes", "hq"])
    assert math.isnan(means[0.5]["modes"])
    assert cb.choose(means, (("modes", +1), ("hq", +1))) == 0.05
    # a full tie goes to the smaller beta
    assert cb.choose({0.2: {"m": 1.0}, 0.1: {"m": 1.0}}, (("m", +1),)) == 0.1


def test_the_script_refuses_seed_zero_before_training(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "ring8", "--seeds", "0-1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "seeds of reported tables" in done.stderr
    assert not any(tmp_path.iterdir())


def test_the_committed_choice_is_the_configs_beta():
    """configs/stability/vanishing_mnist*.yaml set the beta docs/results/vlgan_beta_vanishing.md chose."""
    import re

    import yaml

    text = (ROOT / "docs" / "results" / "vlgan_beta_vanishing.md").read_text()
    chosen = float(re.search(r"\*\*Chosen: beta = ([0-9.e+-]+)\.\*\*", text).group(1))
    for name in ("vanishing_mnist.yaml", "vanishing_mnist_cpu.yaml"):
        methods = yaml.safe_load((ROOT / "configs" / "stability" / name).read_text())["methods"]
        assert methods["vlgan"]["beta"] == chosen and methods["vlgan_ns"]["beta"] == chosen, name
