"""benchmarks/natural_images.py and benchmarks/references.yaml: every table's configs load, every
published number names a method we have (or "-") and a metric key we write, and the script runs
end to end at a tiny size (MS-SSIM, not FID: the Inception net costs minutes on a CPU)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aegan.compare import Job, parse_row_label
from aegan.methods import METHODS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "natural_images.py"
spec = importlib.util.spec_from_file_location("natural_images", SCRIPT)
natural_images = importlib.util.module_from_spec(spec)
spec.loader.exec_module(natural_images)

REFERENCES = yaml.safe_load((ROOT / "benchmarks" / "references.yaml").read_text())
SHIPPED = {p.stem for p in (ROOT / "configs" / "images").glob("*.yaml")}
# 003's SVHN and LSUN rows: no config of their own (SVHN: --data.name=svhn on cifar10_table3; no LSUN loader)
NOT_SHIPPED = {"svhn_table3", "lsun_table3", "svhn_table6", "lsun_table6"}


@pytest.mark.parametrize("table", sorted(natural_images.TABLES))
def test_each_table_has_both_scales_and_its_methods_build(table):
    spec = natural_images.TABLES[table]
    assert set(spec["configs"]) == {"cpu", "full"}
    for path in spec["configs"].values():
        for method in spec["methods"].split(","):
            extra = natural_images.METHOD_OVERRIDES.get(table, {}).get(method, {})
            assert Job(str(ROOT / path), method, 0, "", tuple(extra.items())).config().method.name == method


def test_references_name_shipped_configs_registered_methods_and_values():
    assert REFERENCES
    for entry in REFERENCES:
        assert set(entry) <= {"config", "method", "metric", "value", "std", "source", "note"}, entry
        assert entry["config"] in SHIPPED | NOT_SHIPPED, entry
        method, _ = parse_row_label(entry["method"])
        assert entry["method"] == "-" or method in METHODS, entry
        assert entry["value"] is None and entry.get("note") or isinstance(entry["value"], (int, float)), entry
        assert "/" in entry["metric"] or entry["metric"] == "time_per_step_ms", entry


def test_published_numbers_as_the_papers_print_them():
    value = {(e["config"], e["method"], e["metric"]): e["value"] for e in REFERENCES}
    assert value["cifar10_table3", "nsgan", "fid/fid"] == 37.4 and value["cifar10_table3", "gan_rl", "fid/fid"] == 32.4
    assert value["cifar10_resnet", "gan_rl", "fid/fid"] == 17.4 and value["cifar10_resnet", "wgan_gp", "fid/fid"] == 29.3
    assert value["celeba_table6", "dragan_rl", "fid/fid"] == 10.1
    assert value["celeba_mdgan", "mdgan", "third_party/sigma1.75/points"] == 74


def test_the_script_writes_our_rows_beside_the_papers(tmp_path):
    # MNIST (aegan assets --fetch) in place of Fashion-MNIST, which needs a Debian package
    done = subprocess.run([sys.executable, str(SCRIPT), "fashion_standin", "--scale", "cpu", "--out", str(tmp_path),
                           "--data.name=mnist", "--train.steps=2", "--model.width=4", "--eval.metrics=[ms_ssim]", "--eval.n_samples=40",
                           "--eval.params.ms_ssim.pairs=10"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "fashion_standin_cpu.md").read_text()
    assert "not CIFAR-10" in text
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    for method in ("nsgan", "gan_rl"):  # FID column empty (not evaluated), seeds 1, ms/step measured
        cells = [c.strip() for c in rows[f"| {method}"].strip("|").split("|")]
        assert cells[1:3] == ["-", "1"] and float(cells[3]) > 0, cells
    assert "| paper: 003 Table 3, CIFAR-10, GAN | 37.40 |" in text
    assert (tmp_path / "fashion_standin_cpu.json").is_file()
