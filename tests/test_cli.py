"""The CLI end to end on a tiny run, and its error exits."""

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from aegan.cli import main
from tests.conftest import TINY


@pytest.fixture()
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_train_sample_eval_resume(tmp_path, config_file, capsys):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--run-dir", str(run), "--train.steps=4", "--no-progress"]) == 0
    for name in ("config.yaml", "log.jsonl", "metrics.json", "samples.png", "checkpoints/last.pt"):
        assert (run / name).exists(), name
    lines = (run / "log.jsonl").read_text().splitlines()
    assert [json.loads(l)["step"] for l in lines] == [1, 2, 3, 4]
    row = json.loads(lines[0])
    assert {"loss/discriminator/bce", "loss/generator/adversarial", "grad/discriminator/discriminator",
            "grad/generator/generator", "diag/d_real", "diag/d_fake"} <= set(row)

    out = tmp_path / "s.npy"
    assert main(["sample", str(run), "--n", "50", "--out", str(out)]) == 0
    assert np.load(out).shape == (50, 2)

    trained = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").unlink()
    assert main(["eval", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 4 and metrics["metrics"] == trained["metrics"]  # the same checkpoint and eval seed
    # the mixture scores against a count worked out here from the run's samples (the eval seed
    # 1234, 200 of them) and ring8's geometry (8 centres on the unit circle, std 0.01); k_std
    # 86 (a radius of 0.86, about the median distance of these barely trained samples) makes
    # both numbers informative: some but not all samples and modes count
    assert main(["eval", str(run), "--eval.params.mixture.k_std=86"]) == 0
    wide = json.loads((run / "metrics.json").read_text())["metrics"]
    assert main(["sample", str(run), "--n", "200", "--seed", "1234", "--out", str(tmp_path / "eval.npy")]) == 0
    points = np.load(tmp_path / "eval.npy").astype(np.float64)
    angles = 2 * np.pi * np.arange(8) / 8
    dist = np.linalg.norm(points[:, None] - np.stack([np.cos(angles), np.sin(angles)], 1)[None], axis=2)
    good = dist.min(1) < 86 * 0.01
    modes = len(set(dist.argmin(1)[good].tolist()))
    assert 0 < modes < 8 and 0 < good.mean() < 1
    assert wide["mixture/modes"] == modes and wide["mixture/high_quality"] == pytest.approx(good.mean(), abs=1e-12)

    assert main(["train", "--resume", str(run), "--train.steps=6", "--no-progress"]) == 0
    assert json.loads((run / "metrics.json").read_text())["step"] == 6
    assert main(["train", str(config_file), "--run-dir", str(run)]) == 2  # refuses to overwrite


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data.std=-1"], "data.std"),
        (["--method.name=nosuch"], "unknown method 'nosuch'; accepted:"),
        (["--train.batch_size=0"], "train.batch_size"),
        (["--train.nosuch=1"], "train.nosuch: unknown key"),
    ],
)
def test_config_errors_exit_2_with_one_line(config_file, args, message):
    proc = subprocess.run([sys.executable, "-m", "aegan.cli", "train", str(config_file), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_run_dir_and_checkpoint(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_methods_lists_registry(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "nsgan" in out and "gan " in out


def test_compare_writes_table_and_figure_and_reuses_finished_runs(tmp_path, config_file, capsys):
    out = tmp_path / "cmp"
    args = ["compare", str(config_file), "--methods", "gan,nsgan", "--seeds", "2", "--workers", "1",
            "--out", str(out), "--no-progress", "--train.steps=3"]
    assert main(args) == 0
    table = (out / "results.md").read_text()
    assert "| gan |" in table and "| nsgan |" in table and "high-quality" in table and "| gan | 2 |" in table
    assert (out / "tiny_samples.png").exists()
    results = json.loads((out / "results.json").read_text())
    assert len(results) == 4 and {r["method"] for r in results} == {"gan", "nsgan"}
    # one record per run: every seed's value of every metric is kept, not only the table's mean and interval
    assert sorted((r["label"], r["seed"]) for r in results) == [("gan", 0), ("gan", 1), ("nsgan", 0), ("nsgan", 1)]
    assert all("mixture/modes" in r["metrics"] for r in results)
    assert "confidence interval of the mean over seeds" in table and "ddof 1" in table
    stamp = (out / "tiny" / "gan" / "seed0" / "metrics.json").stat().st_mtime_ns
    assert main(args) == 0  # finished runs are reused, not retrained
    assert (out / "tiny" / "gan" / "seed0" / "metrics.json").stat().st_mtime_ns == stamp


def test_compare_rejects_unknown_method_before_training(tmp_path, config_file):
    assert main(["compare", str(config_file), "--methods", "nsgan,nosuch", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_compare_runs_method_variants_declared_under_methods(tmp_path):
    raw = dict(TINY, methods={"nsgan_wide": {"name": "nsgan"}, "reg_l5": {"name": "reg_gan", "geometric_weight": 5.0}})
    config = tmp_path / "variants.yaml"
    config.write_text(yaml.safe_dump(raw))
    out = tmp_path / "cmp"
    assert main(["compare", str(config), "--methods", "nsgan_wide,reg_l5", "--seeds", "1", "--workers", "1",
                 "--out", str(out), "--no-progress", "--train.steps=2"]) == 0
    saved = yaml.safe_load((out / "variants" / "reg_l5" / "seed0" / "config.yaml").read_text())
    assert saved["method"]["name"] == "reg_gan" and saved["method"]["geometric_weight"] == 5.0
    assert "| reg_l5 |" in (out / "results.md").read_text()


def test_compare_refuses_a_run_directory_with_other_settings(tmp_path, config_file, capsys):
    out = tmp_path / "cmp"
    base = ["compare", str(config_file), "--methods", "nsgan", "--seeds", "1", "--workers", "1",
            "--out", str(out), "--no-progress", "--train.steps=2"]
    assert main(base) == 0
    assert main(base + ["--train.lr=0.01"]) == 2
    assert "holds a run with other settings" in capsys.readouterr().err
    assert main(base[:-1] + ["--train.steps=4"]) == 0  # a longer budget continues the run
    assert json.loads((out / "tiny" / "nsgan" / "seed0" / "metrics.json").read_text())["step"] == 4
