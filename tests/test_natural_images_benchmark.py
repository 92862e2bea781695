"""benchmarks/natural_images.py and benchmarks/references.yaml: every table's configs load, every
published number names a method we have (or "-") and a metric key we write, and the script runs
end to end at a tiny size (MS-SSIM, not FID: the Inception net costs minutes on a CPU)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aegan.results.rows import Job, parse_row_label
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


# The seed papers' tables as they print them (their texts: shared/seeds/00N_*.txt), the source
# that every published number of the committed references files is checked against, with its
# table: (config, method, metric) -> (table, value, std or None). 001 Table 2 has its own
# transcription in tests/test_number001_benchmark.py.
T3 = ("nsgan", "gan_rl", "dragan", "age", "alpha_gan")  # 003 Table 3's columns: GAN, GAN-RL, DRAGAN, AGE, alpha-GAN
T6 = ("gan_rl", "dragan_rl", "gan_gp_rl", "nsgan", "dragan", "gan_gp")  # 003 Table 6 per dataset: -RL, then base
T001 = ("nsgan[model.latent_dim=100]", "nsgan", "reg_gan[model.latent_dim=100]", "reg_gan", "mdgan")  # DCGAN (100) ...
PRINTED = {
    # 003 Table 3: best FID (CIFAR-10, SVHN, LSUN bedrooms); the CIFAR-10 row also beside the Fashion-MNIST stand-in
    **{("cifar10_table3", m, "fid/fid"): ("003 Table 3", v, None) for m, v in zip(T3, (37.4, 32.4, 35.1, 40.7, 35))},
    **{("svhn_table3", m, "fid/fid"): ("003 Table 3", v, None) for m, v in zip(T3, (28.3, 17.2, 24.4, 30.2, 58.2))},
    **{("lsun_table3", m, "fid/fid"): ("003 Table 3", v, None) for m, v in zip(T3, (34.6, 25.4, 28, 39.5, 45))},
    ("fashion_mnist_standin", "nsgan", "fid/fid"): ("003 Table 3", 37.4, None),
    ("fashion_mnist_standin", "gan_rl", "fid/fid"): ("003 Table 3", 32.4, None),
    # 003 Table 5: ResNet on CIFAR-10, "17.4 ± .18" etc.; WGAN-GP's FID "29.3 (In [40])"; SN-GAN (our sngan row)
    ("cifar10_resnet", "gan_rl", "fid/fid"): ("003 Table 5", 17.4, 0.18),
    ("cifar10_resnet", "wgan_gp", "fid/fid"): ("003 Table 5", 29.3, None),
    ("cifar10_resnet", "sngan", "fid/fid"): ("003 Table 5", 21.7, 0.21),
    ("cifar10_resnet", "gan_rl", "inception_score/inception_score"): ("003 Table 5", 7.83, 0.09),
    ("cifar10_resnet", "wgan_gp", "inception_score/inception_score"): ("003 Table 5", 7.86, 0.08),
    ("cifar10_resnet", "sngan", "inception_score/inception_score"): ("003 Table 5", 8.22, 0.05),
    # 003 Table 6: best FID per dataset
    **{("svhn_table6", m, "fid/fid"): ("003 Table 6", v, None)
       for m, v in zip(T6, (17.2, 18.9, 15.0, 28.3, 24.4, 16.1))},
    **{("celeba_table6", m, "fid/fid"): ("003 Table 6", v, None)
       for m, v in zip(T6, (20.5, 10.1, 10.3, 24.4, 11.8, 11.9))},
    **{("lsun_table6", m, "fid/fid"): ("003 Table 6", v, None)
       for m, v in zip(T6, (25.4, 24.5, 26.1, 34.6, 28.0, 32.4))},
    # 001 Table 3: images on missing modes of CelebA at sigma 3.5 and 4.0 (our 1.75 and 2 on [0, 1] images)
    **{("celeba_mdgan", m, "third_party/sigma1.75/points"): ("001 Table 3", v, None)
       for m, v in zip(T001, (5463, 17089, 754, 3644, 74))},
    **{("celeba_mdgan", m, "third_party/sigma2/points"): ("001 Table 3", v, None)
       for m, v in zip(T001, (590, 15832, 42, 391, 13))},
    # 000 Table 2: missed modes on compositional MNIST at epoch 20, GAN and GAN+AE
    ("compositional_mnist", "gan", "third_party_fast/sigma0.5/missed_modes"): ("000 Table 2", 154, None),
    ("compositional_mnist", "gan_ae", "third_party_fast/sigma0.5/missed_modes"): ("000 Table 2", 52, None),
}
# published numbers of papers whose texts are not among the seeds (their numbers are not checked here)
OTHER_PAPERS = ("Lin et al. 2018", "PacGAN", "VEEGAN", "GDPP")


def test_every_published_number_is_the_one_its_paper_prints():
    """Each number of a seed paper in benchmarks/references.yaml and in the committed records'
    references files is the value (and std) of its table above, and cites that table; every
    number above is in a file."""
    files = [ROOT / "benchmarks" / "references.yaml",
             *sorted((ROOT / "benchmarks" / "results").glob("*/references.yaml"))]
    found = set()
    for path in files:
        for entry in yaml.safe_load(path.read_text()):
            if entry["value"] is None or entry.get("kind") == "measured" or entry["config"] == "mnist_number_001":
                continue
            cited = re.search(r"\b00[0-4] Table \d+", entry["source"])
            if cited is None:
                assert any(paper in entry["source"] for paper in OTHER_PAPERS), (path.name, entry)
                continue
            key = (entry["config"], entry["method"], entry["metric"])
            assert key in PRINTED, (str(path.relative_to(ROOT)), entry)  # a seed paper's number without its table
            table, value, std = PRINTED[key]
            where = (str(path.relative_to(ROOT)), entry)
            assert (cited.group(0), entry["value"], entry.get("std")) == (table, value, std), where
            found.add(key)
    assert found == set(PRINTED)


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
