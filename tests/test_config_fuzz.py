"""Bad configs are one-line ConfigErrors naming the key, before anything is built: names
that are not names, sections that are not mappings, booleans for numbers, inf, sizes past
sane bounds, metrics that do not fit the data, YAML duplicate keys, aliases, non-UTF-8 and
deep nesting; a missing dataset is a clean exit 2 from the CLI."""

import pytest

from aegan.cli import main
from aegan.config import ConfigError, parse_overrides, read_yaml
from tests.conftest import tiny_config

CASES = [
    ({"method.name": ["nsgan"]}, "method.name: expected a name"),
    ({"data.name": {"a": 1}}, "data.name: expected a name"),
    ({"method": "nsgan"}, "method: expected a mapping"),
    ({"model": 5}, "model: expected a mapping"),
    ({"train.steps": True}, "train.steps: expected a number, got the boolean true"),
    ({"model.hidden": False}, "model.hidden: expected a number"),
    ({"model.depth": 100000}, "model.depth: Input should be less than or equal to 64"),
    ({"model.hidden": 10**7}, "model.hidden: Input should be less than or equal to 65536"),
    ({"train.batch_size": 10**9}, "train.batch_size: Input should be less than or equal to"),
    ({"train.snapshots": 10**9}, "train.snapshots: Input should be less than or equal to 1000"),
    ({"train.threads": 100000}, "train.threads: Input should be less than or equal to 1024"),
    ({"train.seed": 10**23}, "train.seed: Input should be less than or equal to"),
    ({"eval.n_samples": 10**12}, "eval.n_samples: Input should be less than or equal to"),
    ({"data.modes": 10**9}, "data.modes: Input should be less than or equal to 100000"),
    ({"train.lr": float("inf")}, "train.lr: Input should be a finite number"),
    ({"data.std": float("inf")}, "data.std: Input should be a finite number"),
    ({"data.radius": float("inf")}, "data.radius: Input should be a finite number"),
    ({"data.spacing": float("nan")}, "data.spacing: Input should be a finite number"),
    ({"train.instance_noise": float("inf"), "train.instance_noise_steps": 3}, "train.instance_noise: Input should be a finite"),
    ({"data.weights": [1, 1, 1, 1, 1, 1, 1, float("inf")]}, "data.weights.7: Input should be a finite number"),
    ({"method.name": "gan_ae_decay", "method.alpha": float("inf")}, "method.alpha: Input should be a finite number"),
    ({"eval.metrics": ["fid"]}, "eval.metrics.0: metric 'fid' applies to images, not to dataset 'ring8'"),
    ({"eval.metrics": ["mnist_modes"]}, "eval.metrics.0: metric 'mnist_modes' applies to images"),
    ({"eval.params": {"mixture": {"n_samples": 10**12}}}, "eval.params.mixture.n_samples: Input should be less"),
]


@pytest.mark.parametrize("overrides,message", CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_bad_value_is_a_config_error_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as err:
        tiny_config(**overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_good_values_still_pass():
    cfg = tiny_config(**{"train.steps": 3, "train.lr": 1e-3, "data.std": 0.02, "eval.metrics": ["mixture"]})
    assert cfg.train.steps == 3 and cfg.data.params.std == 0.02


@pytest.mark.parametrize("text,message", [
    (b"method: {name: nsgan}\ntrain: {steps: 1}\ntrain: {steps: 2}\n", "line 3: duplicate key 'train'"),
    (b"data: &a {name: ring8}\nmethod: {name: nsgan}\nx: *a\n", "YAML aliases (*a) are not accepted"),
    (b"method: {name: nsgan} # caf\xe9\n", "not UTF-8 text (byte 27"),
    ("method: {name: nsgan}\n".encode("utf-16"), "not UTF-8 text"),
    (("method: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested too deeply"),
], ids=["duplicate", "alias", "latin1", "utf16", "deep"])
def test_bad_yaml_is_a_config_error(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_bytes(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        read_yaml(path)


def test_overrides_parse_with_the_same_strict_yaml():
    assert parse_overrides(["--train.betas=[0.5, 0.9]"]) == {"train.betas": [0.5, 0.9]}
    assert parse_overrides(["--x={a: 1, a: 2}"]) == {"x": "{a: 1, a: 2}"}  # not silently {a: 2}


def test_missing_dataset_exits_2_with_one_line(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("method: {name: nsgan}\ndata: {name: fashion_mnist, root: %s}\nmodel: {family: conv}\n"
                      "train: {steps: 1}\n" % (tmp_path / "empty"))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aegan: data error: ") and "train-images-idx3-ubyte" in err and "Traceback" not in err
