"""FID reference statistics: streamed mean/covariance, the on-disk cache (reused, keyed,
atomic, pickle-free), ``aegan fid-stats`` and reuse by ``aegan eval``; a tiny TorchScript
feature net stands in for the Inception file (given as ``weights``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

import aegan.metrics.fid_stats as fs
from aegan.cli import main
from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext, evaluate
from aegan.metrics.fid import frechet_distance, frechet_from_stats
from aegan.metrics.inception import features, load_feature_net, stream_stats
from tests.metrics.feature_nets import PoolFeatures, save_script


@pytest.fixture
def net_file(tmp_path):
    return str(save_script(PoolFeatures(), tmp_path / "pool.pt"))


@pytest.fixture
def calls(monkeypatch):
    """Counts the feature passes over real (reference) and generated images."""
    counted = {"reference": 0, "generated": 0}
    real = fs.stream_stats

    def counting(net, blocks, n, batch_size, device, progress=False, desc="inception features"):
        counted["reference" if desc.startswith("reference") else "generated"] += 1
        return real(net, blocks, n, batch_size, device, progress, desc)

    monkeypatch.setattr(fs, "stream_stats", counting)
    monkeypatch.setattr("aegan.metrics.inception.stream_stats", counting)
    return counted


def _digits():
    return build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")


def _ctx(n=10, seed=0):
    data = _digits()
    fake = data.sample(n, 99).x.flip(-1)
    return EvalContext(lambda m: fake[:m], data, n, seed=seed)


def test_streamed_mean_and_covariance_equal_the_direct_ones(net_file):
    net, _ = load_feature_net(net_file, "cpu")
    x = _digits().sample(23, 5).x
    direct = features(net, x, 7, "cpu")
    stats = stream_stats(net, [x[:10], x[10:]], 23, 4, "cpu")
    torch.testing.assert_close(stats.mu, direct.mean(0), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(stats.sigma, torch.cov(direct.T), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(stats.features, direct.float())
    other = direct.flip(0)[:15] + 0.1
    assert frechet_from_stats(stats.mu, stats.sigma, other.mean(0), torch.cov(other.T)) == pytest.approx(
        frechet_distance(direct, other), rel=1e-6)  # singular covariances: sqrt of ~0 eigenvalues


def test_second_eval_reads_the_cache_and_a_changed_key_recomputes(net_file, calls, tmp_path):
    params = {"fid": {"weights": net_file, "kid_subsets": 2, "batch_size": 4, "device": "cpu"}}
    first = evaluate(_ctx(), ["fid"], params)
    files = list((tmp_path / "aegan_cache" / "fid_stats").glob("*.npz"))
    assert calls["reference"] == 1 and len(files) == 1 and files[0].name.startswith("digits_train_n10_")
    written = (files[0].stat().st_ino, files[0].read_bytes())  # not rewritten (a read touches its time)
    fs.clear_memory()  # as a new process would: only the disk cache is left
    second = evaluate(_ctx(), ["fid"], params)
    assert calls["reference"] == 1 and (files[0].stat().st_ino, files[0].read_bytes()) == written and second == first
    for change in ({"n_real": 11}, {"real_split": "valid"}):
        evaluate(_ctx(), ["fid"], {"fid": {**params["fid"], **change}})
    assert calls["reference"] == 3
    evaluate(_ctx(seed=1), ["fid"], params)  # the real images are drawn with eval.seed + 1
    assert calls["reference"] == 4
    assert len(list(files[0].parent.glob("*.npz"))) == 4
    evaluate(_ctx(), ["fid"], {"fid": {**params["fid"], "cache": False}})
    assert calls["reference"] == 5 and len(list(files[0].parent.glob("*.npz"))) == 4


def test_the_key_holds_the_dataset_config_and_the_weights_hash(net_file, tmp_path):
    stats, digest, path, computed = fs.reference_stats(_digits(), None, 6, 1, net_file, 3, "cpu", str(tmp_path / "c"))
    assert computed and path.parent == tmp_path / "c"
    with np.load(path, allow_pickle=False) as z:
        key = json.loads(str(z["key"]))
        assert z["features"].dtype == np.float32 and z["sigma"].dtype == np.float64
    assert key["weights_sha256"] == digest and key["n"] == 6 and key["split"] == "train" and key["seed"] == 1
    assert key["dataset"]["protocol"] == "digits" and "classes" in key["dataset"] and "download" not in key["dataset"]
    other = build_dataset("digits", DATASETS["digits"][0](classes=[0, 1]), 0, "cpu")
    assert fs.key_path(path.parent, fs.reference_key(other, "train", 6, 1, digest)) != path
    assert not list(path.parent.glob(".*tmp*"))  # the temporary file was renamed away


def test_a_corrupt_or_pickled_cache_file_is_recomputed_not_unpickled(net_file, calls, tmp_path, capsys):
    args = (_digits(), None, 5, 1, net_file, 5, "cpu", str(tmp_path))
    stats, _, path, _ = fs.reference_stats(*args)
    fs.clear_memory()
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    key = np.load(path, allow_pickle=False)["key"]
    with open(path, "wb") as f:  # same key, but an object array: only pickle could read it
        np.savez(f, key=key, mu=np.array([Evil()], dtype=object), sigma=stats.sigma.numpy(),
                 features=stats.features.numpy())
    again, _, _, computed = fs.reference_stats(*args)
    assert computed and not marker.exists() and "recomputing" in capsys.readouterr().err
    torch.testing.assert_close(again.mu, stats.mu)
    fs.clear_memory()
    path.write_bytes(b"not a zip")
    assert fs.reference_stats(*args)[3] and calls["reference"] == 3


def test_fid_and_prdc_share_generated_features_and_the_reference(net_file, calls):
    shared = {"weights": net_file, "batch_size": 5, "device": "cpu"}
    out = evaluate(_ctx(12), ["fid", "prdc"], {"fid": {**shared, "kid_subsets": 2}, "prdc": {**shared, "nearest_k": 3}})
    assert calls == {"reference": 1, "generated": 1}
    assert {"fid/fid", "prdc/precision", "prdc/recall", "prdc/density", "prdc/coverage"} <= set(out)


def _write_config(tmp_path, net_file, **eval_extra):
    cfg = {"method": {"name": "nsgan"}, "data": {"name": "digits"},
           "model": {"family": "conv", "latent_dim": 3, "width": 4, "fc": 8},
           "train": {"steps": 2, "batch_size": 8, "seed": 0, "device": "cpu", "checkpoint_every": 2, "snapshots": 1,
                     "tensorboard": False},
           "eval": {"metrics": ["fid", "prdc"], "n_samples": 12,
                    "params": {"fid": {"weights": net_file, "kid_subsets": 2, "batch_size": 6},
                               "prdc": {"weights": net_file, "batch_size": 6, "nearest_k": 3}}, **eval_extra}}
    path = tmp_path / "digits_fid.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _coverage_of(run, net_file, k):
    """PRDC's coverage (Naeem et al. 2020: the share of real points whose k-NN ball holds a
    generated one) of a run's evaluation worked out here: its samples at the eval seed (1234)
    and its reference images (the same number from the training split, drawn with the eval seed
    + 1, as ``fid_stats.reference_stats`` draws them), both through the feature net; not 0 or 1."""
    from aegan.train import open_run

    trainer = open_run(run)
    net, _ = load_feature_net(net_file, "cpu")
    n = trainer.config.eval.n_samples
    fake = features(net, trainer.generate(n, 1234), 6, "cpu").float().double()  # the stored features are float32
    real = features(net, trainer.data.sample(n, 1234 + 1, "train").x, 6, "cpu").float().double()
    radius = torch.cdist(real, real).sort(dim=1).values[:, k]  # column 0: the point itself
    coverage = (torch.cdist(real, fake).min(dim=1).values < radius).double().mean().item()
    assert 0 < coverage < 1, coverage
    return coverage


def test_cli_fid_stats_then_train_and_eval_reuse_and_preprocessing_changes_invalidate(net_file, calls, tmp_path, capsys):
    config = _write_config(tmp_path, net_file)
    assert main(["fid-stats", str(config), "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "(computed:" in out[0] and "(cached:" in out[1] and "digits train split, n=12" in out[0]
    assert calls["reference"] == 1
    fs.clear_memory()
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--no-progress"]) == 0
    fs.clear_memory()
    # nearest_k 11 of the 12 real images: wide balls, so that some but not all of them hold one
    # of these barely trained samples (with k 3 no real ball holds one: a coverage of 0 tells nothing)
    assert main(["eval", str(run), "--eval.params.prdc.nearest_k=11"]) == 0
    assert calls["reference"] == 1  # end-of-training and later evals read the cache
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert np.isfinite(metrics["fid/fid"])
    assert metrics["prdc/coverage"] == pytest.approx(_coverage_of(run, net_file, k=11), abs=1e-12)
    fs.clear_memory()
    capsys.readouterr()
    assert main(["fid-stats", str(config), "--data.classes=[0,1]", "--no-progress"]) == 0
    assert "(computed:" in capsys.readouterr().out and calls["reference"] == 2


def test_fid_stats_rejects_vector_data(tmp_path, capsys):
    config = tmp_path / "ring.yaml"
    config.write_text(yaml.safe_dump({"method": {"name": "nsgan"}, "data": {"name": "ring8"}}))
    assert main(["fid-stats", str(config)]) == 2
    assert "FID statistics need image data" in capsys.readouterr().err


def test_cache_location_follows_the_parameter_then_the_environment(monkeypatch, tmp_path):
    assert fs.cache_root(str(tmp_path / "x")) == tmp_path / "x"
    monkeypatch.setenv("AEGAN_CACHE", str(tmp_path / "a"))
    assert fs.cache_root() == tmp_path / "a" / "fid_stats"
    monkeypatch.delenv("AEGAN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fs.cache_root() == tmp_path / "xdg" / "aegan" / "fid_stats"


def test_real_images_come_in_blocks_the_first_being_the_plain_sample(monkeypatch):
    monkeypatch.setattr(fs, "REAL_BLOCK", 4)
    data = _digits()
    blocks = list(fs.real_blocks(data, 10, 3, "train"))
    assert [len(b) for b in blocks] == [4, 4, 2]
    torch.testing.assert_close(blocks[0], data.sample(4, 3, "train").x)
    assert not torch.equal(blocks[1], blocks[0])


def test_missing_weights_file_is_a_cli_error(tmp_path, capsys):
    config = _write_config(tmp_path, str(tmp_path / "absent.pt"))
    assert main(["fid-stats", str(config)]) == 2
    assert "weights error" in capsys.readouterr().err


def test_a_reference_set_above_the_datas_size_is_capped_with_one_line(net_file, calls, tmp_path, capsys, monkeypatch):
    """A full-scale config's n_real (50,000) on a smaller dataset: the reference set is capped at
    the split's size, said in one line naming both numbers before training, not again at the end."""
    monkeypatch.setattr(fs, "_CAPPED", set())
    config = _write_config(tmp_path, net_file)
    raw = yaml.safe_load(config.read_text())
    raw["data"]["classes"] = [0]
    for metric in ("fid", "prdc"):
        raw["eval"]["params"][metric]["n_real"] = 50_000
    config.write_text(yaml.safe_dump(raw))
    size = build_dataset("digits", DATASETS["digits"][0](classes=[0]), 0, "cpu").split_size()
    assert 100 < size < 200
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--no-progress"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "reference statistics" in line]
    assert said == [f"aegan: warning: the FID/KID/PRDC reference statistics ask for 50,000 real images (n_real, else "
                    f"the number of samples) but the train split of digits holds {size}: capped at {size}"]
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert metrics["fid/n_real"] == metrics["prdc/n_real"] == size and calls["reference"] == 1
    assert fs.reference_size(_digits(), None, 1500) == 1500 and fs.reference_size(_digits(), "valid", 5000) == 297
