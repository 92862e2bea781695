"""Natural-image datasets read from tiny files in each real on-disk format: exact pixels and
labels, splits, the uint8 cache (reused, rebuilt on a change), missing / incomplete / corrupt
data as one named error, and training + evaluation end to end through the CLI."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import aegan.data.cache as cache_mod
from aegan.cli import main
from aegan.config import ConfigError, build_config
from aegan.data import DATASETS, MissingDataset, build_dataset
from aegan.data.natural import CorruptDataset, centre_box
from aegan.train import open_run
from tests.data.natural_formats import write_celeba, write_cifar, write_image_folder, write_stl10, write_svhn


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AEGAN_CACHE", str(tmp_path / "cache"))


def _build(name, **params):
    return build_dataset(name, DATASETS[name][0](**params), 0, "cpu")


def _u8(x: torch.Tensor) -> np.ndarray:
    return (x * 255).round().to(torch.uint8).numpy()


# -- formats ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cifar100", [False, True])
def test_cifar_pickles_give_exact_pixels_and_labels(tmp_path, cifar100):
    name = "cifar100" if cifar100 else "cifar10"
    truth = write_cifar(tmp_path, cifar100=cifar100)
    data = _build(name, root=str(tmp_path))
    assert data.shape == (3, 32, 32)
    for split in ("train", "test"):
        batch = data.sample(None, 0, split)
        assert batch.x.dtype == torch.float32 and 0 <= batch.x.min() and batch.x.max() <= 1
        np.testing.assert_array_equal(_u8(batch.x), truth[split][0])
        np.testing.assert_array_equal(batch.y.numpy(), truth[split][1])
    held = data.held_out()
    assert len(held) == len(truth["test"][0])
    subset = _build(name, root=str(tmp_path), classes=[1, 2])
    assert set(subset.sample(None, 0).y.tolist()) <= {1, 2}


def test_cifar_resized_and_root_may_be_the_batches_folder(tmp_path):
    write_cifar(tmp_path)
    data = _build("cifar10", root=str(tmp_path / "cifar-10-batches-py"), resolution=16)
    assert data.shape == (3, 16, 16) and data.next_batch(5).x.shape == (5, 3, 16, 16)


def test_svhn_mat_files(tmp_path):
    truth = write_svhn(tmp_path)
    data = _build("svhn", root=str(tmp_path))
    batch = data.sample(None, 0, "train")
    np.testing.assert_array_equal(_u8(batch.x), truth["train"][0])
    np.testing.assert_array_equal(batch.y.numpy(), truth["train"][1])  # label 10 read as digit 0
    assert 0 in batch.y.tolist()
    with pytest.raises(MissingDataset, match="extra_32x32.mat"):
        _build("svhn", root=str(tmp_path), split="train+extra")


def test_stl10_binary_is_column_major_and_resized(tmp_path):
    truth = write_stl10(tmp_path)
    full = _build("stl10", root=str(tmp_path), resolution=96, split="train")
    np.testing.assert_array_equal(_u8(full.sample(None, 0).x), truth["train"][0])
    np.testing.assert_array_equal(full.sample(None, 0).y.numpy(), truth["train"][1])
    data = _build("stl10", root=str(tmp_path))  # train+unlabeled at 48 x 48
    assert data.shape == (3, 48, 48)
    batch = data.sample(None, 0)
    assert len(batch) == len(truth["train"][0]) + len(truth["unlabeled"][0]) and batch.y is None
    expected = np.asarray(Image.fromarray(truth["train"][0][0].transpose(1, 2, 0)).resize((48, 48), Image.BILINEAR))
    np.testing.assert_array_equal(_u8(batch.x[0]), expected.transpose(2, 0, 1))
    assert data.next_batch(4).y is None and data.held_out().y is not None


def test_celeba_dcgan_crop_and_partition(tmp_path):
    paths = write_celeba(tmp_path)  # partition 0 0 0 0 1 2
    data = _build("celeba", root=str(tmp_path), resolution=16)
    assert data.shape == (3, 16, 16)
    train = data.sample(None, 0)
    assert len(train) == 4 and train.y is None
    assert [len(data.sample(None, 0, s)) for s in ("valid", "test", "train+valid", "all")] == [1, 1, 5, 6]
    with Image.open(paths[5]) as im:
        ref = np.asarray(im.convert("RGB").crop(centre_box(178, 218, 108)).resize((16, 16), Image.BILINEAR))
    np.testing.assert_array_equal(_u8(data.held_out().x[0]), ref.transpose(2, 0, 1))
    assert centre_box(178, 218, 108) == (35, 55, 143, 163)  # DCGAN's crop of the aligned faces


def test_image_folder_nested_classes_formats_and_max_images(tmp_path):
    write_image_folder(tmp_path / "imgs")
    data = _build("image_folder", root=str(tmp_path / "imgs"), resolution=8)
    batch = data.sample(None, 0)
    assert batch.x.shape == (5, 3, 8, 8)  # the hidden folder and the .txt are skipped
    assert batch.y.tolist() == [0, 0, 1, 1, 1]  # cats, dogs (sorted paths)
    grey = _build("image_folder", root=str(tmp_path / "imgs"), resolution=8, channels=1, crop="none")
    assert grey.shape == (1, 8, 8)
    few = _build("image_folder", root=str(tmp_path / "imgs"), resolution=8, max_images=2)
    assert len(few.sample(None, 0)) == 2
    dogs = _build("image_folder", root=str(tmp_path / "imgs"), resolution=8, classes=[1])
    assert dogs.sample(None, 0).y.tolist() == [1, 1, 1]
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (9, 9), (255, 0, 0)).save(flat / "x.png")
    red = _build("image_folder", root=str(flat), resolution=4).sample(None, 0)
    assert red.y is None and torch.equal(red.x[0, 0], torch.ones(4, 4)) and red.x[0, 1:].max() == 0


# -- the cache ---------------------------------------------------------------------------------
def test_cache_is_reused_and_rebuilt_when_files_or_preprocessing_change(tmp_path, monkeypatch):
    write_celeba(tmp_path, partition=(0, 0, 2))
    decodes = []
    real = cache_mod._write_images
    monkeypatch.setattr(cache_mod, "_write_images", lambda *a: (decodes.append(a[1]), real(*a)))
    first = _build("celeba", root=str(tmp_path), resolution=8)
    assert len(decodes) == 1 and first.part("all").built
    second = _build("celeba", root=str(tmp_path), resolution=8)
    assert len(decodes) == 1 and not second.part("all").built  # memory-mapped, nothing decoded
    assert isinstance(second.part("all").x, np.memmap)
    assert torch.equal(first.sample(None, 0).x, second.sample(None, 0).x)
    assert first.describe() == second.describe()
    _build("celeba", root=str(tmp_path), resolution=8, split="all", held_out_split="valid")  # same part, same files
    assert len(decodes) == 1
    other = _build("celeba", root=str(tmp_path), resolution=8, crop=100)  # preprocessing changed
    assert len(decodes) == 2 and other.describe()["source_sha"] != first.describe()["source_sha"]
    _build("celeba", root=str(tmp_path), resolution=8, resample="bicubic")
    assert len(decodes) == 3
    img = tmp_path / "celeba" / "img_align_celeba" / "000002.jpg"
    Image.new("RGB", (178, 218), (0, 128, 0)).save(img)
    os.utime(img, ns=(1, 1))
    changed = _build("celeba", root=str(tmp_path), resolution=8)
    assert len(decodes) == 4 and changed.sample(None, 0).x[1, 1].mean() > 0.4
    entries = sorted(p.name for p in (tmp_path / "cache" / "datasets").iterdir())
    assert all(not name.startswith(".") for name in entries)  # no temporary file left
    assert sum(name.endswith(".json") for name in entries) == 4


def test_damaged_cache_entry_is_rebuilt(tmp_path, capsys):
    write_cifar(tmp_path, per_batch=2)
    data = _build("cifar10", root=str(tmp_path))
    path = data.part("train").path
    head = path.read_bytes()[:100]
    path.unlink()  # a new inode: ``data`` keeps its (intact) memory map
    path.write_bytes(head)
    again = _build("cifar10", root=str(tmp_path))
    assert again.part("train").built and "rebuilding" in capsys.readouterr().err
    assert torch.equal(again.sample(None, 0).x, data.sample(None, 0).x)


def test_cache_dir_key_and_aegan_cache(tmp_path):
    write_svhn(tmp_path / "svhn", n=2)
    data = _build("svhn", root=str(tmp_path / "svhn"), cache_dir=str(tmp_path / "mine"))
    assert data.part("train").path.parent == tmp_path / "mine"
    assert "cache_dir" not in data.describe()
    default = _build("svhn", root=str(tmp_path / "svhn"))
    assert default.part("train").path.parent == tmp_path / "cache" / "datasets"


# -- missing, incomplete, corrupt ------------------------------------------------------------------
@pytest.mark.parametrize(("name", "needle"), [
    ("cifar10", "cifar-10-batches-py/data_batch_1"), ("cifar100", "cifar-100-python/train"),
    ("svhn", "train_32x32.mat"), ("stl10", "stl10_binary/train_X.bin"),
    ("celeba", "celeba/list_eval_partition.txt"), ("image_folder", "does not exist"),
])
def test_missing_dataset_names_the_files(tmp_path, name, needle):
    with pytest.raises(MissingDataset, match=needle) as err:
        _build(name, root=str(tmp_path / "nothing"))
    assert type(err.value) is MissingDataset
    with pytest.raises(MissingDataset, match="data.root is not set"):
        _build(name)


def test_incomplete_datasets_name_what_is_missing(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(MissingDataset, match="missing .*data_batch_3;"):
        _build("cifar10", root=str(tmp_path))
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()  # the held-out split is checked up front too
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(MissingDataset, match="test_batch"):
        _build("cifar10", root=str(tmp_path))
    paths = write_celeba(tmp_path / "c")
    paths[2].unlink()
    with pytest.raises(MissingDataset, match="000003.jpg"):
        _build("celeba", root=str(tmp_path / "c"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingDataset, match="no images under"):
        _build("image_folder", root=str(tmp_path / "empty"))


def test_corrupt_files_are_named(tmp_path):
    write_cifar(tmp_path / "a", per_batch=2)
    bad = tmp_path / "a" / "cifar-10-batches-py" / "data_batch_2"
    bad.write_bytes(bad.read_bytes()[:50])
    with pytest.raises(CorruptDataset, match="data_batch_2: not a CIFAR batch"):
        _build("cifar10", root=str(tmp_path / "a"))

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    write_cifar(tmp_path / "b", per_batch=2)
    with open(tmp_path / "b" / "cifar-10-batches-py" / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f, protocol=2)
    with pytest.raises(CorruptDataset, match="data_batch_1: .*refusing to unpickle"):
        _build("cifar10", root=str(tmp_path / "b"))
    assert not (tmp_path / "pwned").exists()

    paths = write_celeba(tmp_path / "c", partition=(0, 0, 2))
    paths[1].write_bytes(paths[1].read_bytes()[:300])
    with pytest.raises(CorruptDataset, match="000002.jpg: not a readable image"):
        _build("celeba", root=str(tmp_path / "c"))
    assert not list((tmp_path / "cache" / "datasets").glob("celeba*"))  # nothing half-built is kept

    write_stl10(tmp_path / "d")
    with open(tmp_path / "d" / "stl10_binary" / "train_X.bin", "ab") as f:
        f.write(b"xx")
    with pytest.raises(CorruptDataset, match="train_X.bin: .* not a whole number"):
        _build("stl10", root=str(tmp_path / "d"))

    write_svhn(tmp_path / "e", n=2)
    (tmp_path / "e" / "train_32x32.mat").write_bytes(b"MATLAB 5.0 but not really")
    with pytest.raises(CorruptDataset, match="train_32x32.mat: not an SVHN"):
        _build("svhn", root=str(tmp_path / "e"))


def test_download_only_when_asked(tmp_path, monkeypatch):
    calls = []

    def fake_download(url, root, filename=None, md5=None, **kw):
        calls.append(filename)
        write_cifar(tmp_path / "dl", per_batch=2)

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", fake_download)
    with pytest.raises(MissingDataset):
        _build("cifar10", root=str(tmp_path / "dl"))
    assert calls == []
    data = _build("cifar10", root=str(tmp_path / "dl"), download=True)
    assert calls == ["cifar-10-python.tar.gz"] and len(data.sample(None, 0)) == 10

    def failing(*a, **kw):
        raise OSError("network unreachable")

    monkeypatch.setattr("torchvision.datasets.utils.download_url", failing)
    with pytest.raises(MissingDataset, match="download into .* failed .*network unreachable.*train_32x32.mat"):
        _build("svhn", root=str(tmp_path / "sv"), download=True)
    with pytest.raises(ConfigError, match=r"^data\.download: Input should be False \(got True\)$"):
        build_config({"method": {"name": "nsgan"}, "data": {"name": "image_folder", "root": "x", "download": True}})


def test_config_keys_are_checked():
    def cfg(**data):
        return build_config({"method": {"name": "nsgan"}, "data": data})

    assert cfg(name="stl10").data.params.resolution == 48
    assert cfg(name="celeba").data.params.crop == 108 and cfg(name="celeba").data.params.resolution == 64
    for bad, message in (({"name": "cifar10", "split": "valid"}, "data.split: Input should be 'train' or 'test'"),
                         ({"name": "cifar10", "classes": [10]}, "data.classes: classes must be a non-empty list"),
                         ({"name": "celeba", "crop": 200}, "data.crop: Input should be less than or equal to 178"),
                         ({"name": "image_folder", "crop": "middle"}, "data.crop: Input should be 'center' or 'none'"),
                         ({"name": "cifar10", "resolution": 2}, "data.resolution: Input should be greater than or"),
                         ({"name": "celeba", "classes": [1]}, "data.classes: Input should be None")):
        with pytest.raises(ConfigError, match="^" + re.escape(message)):
            cfg(**bad)
    assert cfg(name="cifar100", classes=[99]).data.params.classes == [99]


# -- data order and resume -------------------------------------------------------------------------
def test_batches_follow_the_seeded_generator_and_resume(tmp_path):
    write_cifar(tmp_path, per_batch=3)
    a = _build("cifar10", root=str(tmp_path))
    b = _build("cifar10", root=str(tmp_path))
    a.next_batch(4)
    state = a.state_dict()
    after = a.next_batch(6)
    b.load_state_dict(state)
    again = b.next_batch(6)
    assert torch.equal(after.x, again.x) and torch.equal(after.y, again.y)


# -- the CLI end to end ------------------------------------------------------------------------------
def _config(tmp_path, data, net_file, family="dcgan"):
    cfg = {"method": {"name": "nsgan"}, "data": data,
           "model": {"family": family, "latent_dim": 4, "width": 4, "layers": 2, "fc": 0 if family == "dcgan" else 8},
           "train": {"steps": 4, "batch_size": 4, "seed": 0, "device": "cpu", "checkpoint_every": 2,
                     "snapshots": 1, "tensorboard": False},
           "eval": {"metrics": ["fid"], "n_samples": 6,
                    "params": {"fid": {"weights": net_file, "kid_subsets": 2, "batch_size": 6}}}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def net_file(tmp_path):
    from tests.metrics.feature_nets import PoolFeatures, save_script

    return str(save_script(PoolFeatures(), tmp_path / "pool.pt"))


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn", "stl10", "celeba", "image_folder"])
def test_cli_trains_and_evaluates_each_format(tmp_path, net_file, name, capsys):
    root = tmp_path / "data"
    writers = {"cifar10": lambda: write_cifar(root, per_batch=2), "cifar100": lambda: write_cifar(root, 2, True),
               "svhn": lambda: write_svhn(root), "stl10": lambda: write_stl10(root),
               "celeba": lambda: write_celeba(root), "image_folder": lambda: write_image_folder(root)}
    writers[name]()
    data = {"name": name, "root": str(root)}
    if name in ("stl10", "celeba", "image_folder"):
        data["resolution"] = 16
    config = _config(tmp_path, data, net_file, family="conv" if name == "svhn" else "dcgan")
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--no-progress"]) == 0
    (run / "metrics.json").unlink()
    assert main(["eval", str(run)]) == 0
    result = json.loads((run / "metrics.json").read_text())
    assert result["step"] == 4 and np.isfinite(result["metrics"]["fid/fid"])
    assert result["protocol"]["protocol"] == name


def test_cli_resume_is_bit_identical(tmp_path, net_file):
    write_celeba(tmp_path / "data", partition=(0,) * 5 + (2,))
    config = _config(tmp_path, {"name": "celeba", "root": str(tmp_path / "data"), "resolution": 8}, net_file)
    assert main(["train", str(config), "--run-dir", str(tmp_path / "full"), "--no-progress", "--eval.metrics=[]"]) == 0
    assert main(["train", str(config), "--run-dir", str(tmp_path / "part"), "--no-progress", "--train.steps=2",
                 "--eval.metrics=[]"]) == 0
    assert main(["train", "--resume", str(tmp_path / "part"), "--train.steps=4", "--no-progress"]) == 0
    a, b = open_run(tmp_path / "full"), open_run(tmp_path / "part")
    assert a.step == b.step == 4
    for name, net in a.nets.items():
        theirs = b.nets[name].state_dict()
        for key, value in net.state_dict().items():
            assert torch.equal(value, theirs[key]), (name, key)
    assert a.data.state_dict()["rng"].equal(b.data.state_dict()["rng"])


@pytest.mark.parametrize("setup", ["missing", "corrupt"])
def test_cli_missing_or_corrupt_data_exits_2_with_one_line(tmp_path, setup):
    root = tmp_path / "data"
    if setup == "corrupt":
        paths = write_celeba(root, partition=(0, 2))
        paths[0].write_bytes(b"\xff\xd8\xff garbage")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"method": {"name": "nsgan"}, "data": {"name": "celeba", "root": str(root)},
                                      "model": {"family": "dcgan"}, "train": {"steps": 1, "device": "cpu"}}))
    proc = subprocess.run([sys.executable, "-m", "aegan.cli", "train", str(config), "--run-dir", str(tmp_path / "r"),
                           "--no-progress"], capture_output=True, text=True,
                          env={**os.environ, "AEGAN_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()  # a corrupt file is found while decoding: after its notice
    assert len(lines) == (1 if setup == "missing" else 2) and lines[-1].startswith("aegan: data error: ")
    assert ("list_eval_partition.txt" if setup == "missing" else "000001.jpg: not a readable image") in lines[-1]


def test_image_folder_holds_out_a_stable_fraction_for_the_metrics(tmp_path):
    from aegan.config import ConfigError, build_config
    from aegan.data.natural import held_out_score
    from tests.conftest import tiny_raw

    root = tmp_path / "imgs"
    root.mkdir()
    for k in range(40):
        Image.new("RGB", (6, 6), (k * 6, 0, 0)).save(root / f"{k:02d}.png")
    scores = {p.name: held_out_score(p.relative_to(root)) for p in root.iterdir()}
    expected_held = sorted(n for n, s in scores.items() if s < 0.25)
    assert 4 <= len(expected_held) <= 18  # ~10 of 40: a hash, not a count

    data = _build("image_folder", root=str(root), resolution=4, held_out_fraction=0.25)
    assert data.config.held_out_split == "held_out"  # the default once a fraction is held out
    red = lambda batch: sorted(f"{round(v * 255 / 6):02d}.png" for v in batch.x[:, 0, 0, 0].tolist())  # noqa: E731
    held, train = red(data.held_out()), red(data.sample(None, 0))
    assert held == expected_held and not set(held) & set(train) and len(held) + len(train) == 40

    for k in range(40, 60):  # more images later (green, not red): no earlier image changes side
        Image.new("RGB", (6, 6), (0, 200, 0)).save(root / f"{k:02d}.png")
    again = _build("image_folder", root=str(root), resolution=4, held_out_fraction=0.25).held_out()
    earlier = again.x[again.x[:, 1, 0, 0] == 0]
    assert red(type(again)(earlier, None)) == expected_held
    assert _build("image_folder", root=str(root), resolution=4).config.held_out_split == "train"  # no fraction
    with pytest.raises(ConfigError, match="held_out_fraction > 0"):
        build_config(tiny_raw(**{"data": {"name": "image_folder", "root": str(root), "held_out_split": "held_out"}}))
