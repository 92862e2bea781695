"""The Python API (aegan.api): train, load, Run, evaluate, compare, on tiny runs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import aegan
from aegan.cli import main
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run trained through the API from a dict config with dotted overrides."""
    run_dir = tmp_path_factory.mktemp("api") / "run"
    return aegan.train(TINY, run_dir, overrides={"train.steps": 4, "eval.n_samples": 100})


def test_train_a_dict_config_with_overrides(trained):
    run = trained
    assert isinstance(run, aegan.Run) and run.step == 4
    assert run.config.train.steps == 4 and run.config.eval.n_samples == 100  # the overrides
    assert run.config.method.name == "nsgan" and run.config.data.name == "ring8"  # the dict's sections
    for name in ("config.yaml", "metrics.json", "record.json", "checkpoints/last.pt"):
        assert (run.run_dir / name).is_file(), name
    saved = json.loads((run.run_dir / "metrics.json").read_text())
    assert run.metrics == saved["metrics"] and saved["step"] == 4
    assert run.record["status"] == "ok" and run.record["steps"] == 4 and run.record["metrics"] == saved["metrics"]
    assert isinstance(run.generator, torch.nn.Module) and run.latent_dim == TINY["model"]["latent_dim"]


def test_train_a_yaml_config_into_the_default_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = {"train.steps": 3, "train.batch_size": 32, "model.hidden": 16, "eval.n_samples": 100,
                 "train.device": "cpu"}
    run = aegan.train(ROOT / "configs" / "toy" / "ring8.yaml", overrides=overrides)
    assert run.run_dir.parent == Path("runs") and run.run_dir.name.startswith("ring8_nsgan_s0_")
    assert run.config.model.params.hidden == 16 and run.step == 3
    again = aegan.train(ROOT / "configs" / "toy" / "ring8.yaml", overrides=overrides)  # within the same second
    assert again.run_dir != run.run_dir


def test_load_restores_the_run(trained):
    loaded = aegan.load(trained.run_dir, device="cpu")
    assert loaded.step == trained.step and loaded.config.to_dict() == trained.config.to_dict()
    for key, value in trained.generator.state_dict().items():
        assert torch.equal(value.cpu(), loaded.generator.state_dict()[key].cpu()), key
    assert torch.equal(loaded.sample(64, seed=3), trained.sample(64, seed=3))


def test_sample_shape_and_seed(trained):
    x = trained.sample(300, seed=1)
    assert x.shape == (300, 2) and x.dtype == torch.float32 and x.device.type == "cpu"
    assert torch.equal(x, trained.sample(300, seed=1))
    assert not torch.equal(x, trained.sample(300, seed=2))
    assert not torch.equal(trained.sample(300), trained.sample(300))  # seed None: a fresh seed each call
    with pytest.raises(aegan.ConfigError, match="n: must be a positive number of samples"):
        trained.sample(0)


def test_run_evaluate_is_aegan_eval(trained, capsys):
    result = trained.evaluate(["mixture"], n_samples=150, mixture={"k_std": 2.0})
    assert set(result) >= {"mixture/modes", "mixture/high_quality", "mixture/total_modes"}
    saved = json.loads((trained.run_dir / "metrics.json").read_text())
    assert saved["metrics"] == result and saved["metric_params"]["mixture"]["k_std"] == 2.0
    assert trained.config.eval.n_samples == 100  # the run's own config is unchanged
    # the command line, given the same settings, computes the same numbers
    assert main(["eval", str(trained.run_dir), "--metrics", "mixture", "--eval.n_samples=150",
                 "--eval.params.mixture.k_std=2.0"]) == 0
    assert json.loads((trained.run_dir / "metrics.json").read_text())["metrics"] == result
    with pytest.raises(aegan.ConfigError, match="nosuch: neither an eval key"):
        trained.evaluate(nosuch=1)
    with pytest.raises(aegan.ConfigError, match="eval.metrics.0: unknown metric 'fid_typo'"):
        trained.evaluate(["fid_typo"])


def test_train_raises_the_cli_s_errors_with_its_messages(tmp_path, capsys, trained):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    for override, value in (("train.batch_size", 0), ("method.name", "nosuch"), ("train.nosuch", 1)):
        with pytest.raises(aegan.ConfigError) as err:
            aegan.train(TINY, tmp_path / "r", overrides={override: value})
        assert main(["train", str(config), f"--{override}={value}", "--run-dir", str(tmp_path / "r")]) == 2
        assert capsys.readouterr().err.strip() == f"aegan: config error: {err.value}"
    with pytest.raises(aegan.ConfigError, match="no such config file"):
        aegan.train(tmp_path / "missing.yaml")
    with pytest.raises(aegan.ConfigError, match="already holds a run"):
        aegan.train(TINY, trained.run_dir)
    with pytest.raises(aegan.ConfigError, match="not a run directory"):
        aegan.load(tmp_path)


def test_evaluate_an_array_of_2d_points():
    from aegan.data import DATASETS, build_dataset

    ring8 = build_dataset("ring8", DATASETS["ring8"][0](), 0, "cpu")
    real = ring8.next_batch(1000).x.numpy()
    scores = aegan.evaluate(real, ROOT / "configs" / "toy" / "ring8.yaml")  # the config's metrics: mixture
    assert scores["mixture/modes"] == 8 and scores["mixture/high_quality"] > 0.95
    collapsed = np.zeros_like(real) + ring8.centres[0].numpy()  # every point on one mode's centre
    low = aegan.evaluate(torch.from_numpy(collapsed), "ring8", ["mixture"])
    assert low["mixture/modes"] == 1 and low["mixture/high_quality"] == 1.0
    assert aegan.evaluate(real, {"name": "ring8"}, "mixture") == scores  # a data section; metrics as a string
    with pytest.raises(aegan.ConfigError, match=r"dataset 'ring8' has samples of shape \(2,\)"):
        aegan.evaluate(np.zeros((10, 3)), "ring8", ["mixture"])
    with pytest.raises(aegan.ConfigError, match="eval.metrics.0: metric 'fid' applies to images"):
        aegan.evaluate(real, "ring8", ["fid"])
    with pytest.raises(aegan.ConfigError, match="a metric asks for 500 samples and 100 were given"):
        aegan.evaluate(real[:100], "ring8", ["mixture"], mixture={"n_samples": 500})


def test_evaluate_images_as_a_tensor_and_as_a_folder(tmp_path):
    from PIL import Image

    from aegan.data import DATASETS, build_dataset

    digits = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu").sample(48, 0).x  # (48, 1, 8, 8) in [0, 1]
    settings = {"ms_ssim": {"sigma": 0.5, "pairs": 40}}
    from_tensor = aegan.evaluate(digits, "digits", ["ms_ssim"], **settings)
    for i, image in enumerate(digits):
        Image.fromarray((image[0].numpy() * 255).round().astype(np.uint8)).save(tmp_path / f"{i:03d}.png")
    from_folder = aegan.evaluate(tmp_path, {"name": "digits"}, ["ms_ssim"], **settings)
    assert from_folder["ms_ssim/quality"] == pytest.approx(from_tensor["ms_ssim/quality"], abs=2e-3)  # 8-bit PNGs
    # one image repeated: every pair identical, MS-SSIM 1 (the collapse reading 1 too)
    same = aegan.evaluate(digits[:1].expand(48, -1, -1, -1), "digits", ["ms_ssim"], **settings)
    assert same["ms_ssim/quality"] == pytest.approx(1.0) and from_tensor["ms_ssim/quality"] < 0.9
    with pytest.raises(aegan.ConfigError, match=r"images must lie in \[0, 1\]"):
        aegan.evaluate(digits * 2 - 1, "digits", ["ms_ssim"], **settings)
    with pytest.raises(aegan.ConfigError, match="architecture: run builds the run's discriminator"):
        aegan.evaluate(digits, "digits", ["third_party_fast"])


def test_compare_returns_the_table_as_data(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "cmp"
    result = aegan.compare(config, "nsgan,gan", seeds=2, out=out, overrides={"train.steps": 3})
    assert isinstance(result, aegan.Comparison) and result.markdown == (out / "results.md").read_text()
    assert "| nsgan | 2 |" in result.markdown and "| gan | 2 |" in result.markdown
    assert [row["row"] for row in result.table] == ["nsgan", "gan"]
    assert len(result.runs) == 4 and {r["label"] for r in result.runs} == {"nsgan", "gan"}
    gan = result.row("gan")
    assert gan["benchmark"] == "tiny" and gan["seeds"] == [0, 1] and gan["diverged"] == []
    values = [r["metrics"]["mixture/high_quality"] for r in result.runs if r["label"] == "gan"]
    assert gan["values"]["mixture/high_quality"] == values
    assert gan["mean"]["mixture/high_quality"] == pytest.approx(np.mean(values))
    assert gan["std"]["mixture/high_quality"] == pytest.approx(np.std(values, ddof=1))
    # the markdown cell is the same number
    cell = next(line for line in result.markdown.splitlines() if line.startswith("| gan |")).split(" | ")[3]
    assert cell.startswith(f"{np.mean(values):.3f}")
    grid = aegan.compare(config, ["nsgan"], seeds=[3], out=tmp_path / "grid", overrides={"train.steps": 2},
                         grid={"train.lr": [0.001, 0.002]})
    assert [row["row"] for row in grid.table] == ["nsgan[train.lr=0.001]", "nsgan[train.lr=0.002]"]
    assert grid.table[0]["seeds"] == [3]
    with pytest.raises(aegan.ConfigError, match="--seeds"):
        aegan.compare(config, ["nsgan"], seeds="x", out=out)
    with pytest.raises(aegan.ConfigError, match="--sample: draws points of a --grid"):
        aegan.compare(config, ["nsgan"], seeds=1, out=out, sample=2)
    with pytest.raises(aegan.ConfigError, match="unknown method 'nosuch'"):
        aegan.compare(config, ["nosuch"], seeds=1, out=out)


def test_public_names_and_a_light_import():
    for name in aegan.__all__:
        assert getattr(aegan, name) is not None, name
    assert aegan.train.Trainer and aegan.compare.plan  # still the modules of the loop and the comparison
    code = "import sys, aegan; print(sorted(m for m in ('torch', 'numpy', 'pydantic', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
