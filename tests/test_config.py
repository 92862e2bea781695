"""Config validation: every bad value is a one-line error naming the key."""

import pydantic
import pytest

from aegan.config import ConfigError, apply_overrides, build_config, parse_overrides
from tests.conftest import TINY, tiny_raw


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"data.std": -0.1}, "data.std"),
        ({"data.modes": 0}, "data.modes"),
        ({"train.batch_size": 0}, "train.batch_size"),
        ({"train.steps": "many"}, "train.steps"),
        ({"method.name": "nosuch"}, "unknown method 'nosuch'; accepted:"),
        ({"data.name": "nosuch"}, "data.name"),
        ({"train.stepz": 3}, "accepted: amp"),
        ({"train.device": "tpu"}, "train.device"),
        ({"eval.metrics": ["nosuch"]}, "eval.metrics.0"),
        ({"model.family": "nosuch"}, "model.family"),
        ({"data.layout": "spiral"}, "data.layout"),
        ({"data.name": "grid25", "data.modes": 24}, "square number"),
        ({"train.betas": [0.5, 1.5]}, "train.betas"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        build_config(tiny_raw(**override))
    text = str(err.value)
    assert message in text and "\n" not in text


def test_unknown_section():
    raw = tiny_raw()
    raw["trian"] = {}
    with pytest.raises(ConfigError, match="trian: unknown section; accepted: method"):
        build_config(raw)


def test_config_is_frozen():
    cfg = build_config(tiny_raw())
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen"):
        cfg.train.steps = 5  # type: ignore[misc]
    assert cfg.train.steps == TINY["train"]["steps"]


def test_overrides_parse_yaml_values():
    assert parse_overrides(["--train.steps=20", "--data.std", "0.02", "--eval.metrics=[a, b]"]) == {
        "train.steps": 20,
        "data.std": 0.02,
        "eval.metrics": ["a", "b"],
    }
    with pytest.raises(ConfigError):
        parse_overrides(["steps=3"])


def test_override_into_a_value_is_an_error():
    with pytest.raises(ConfigError, match="train.steps: is a value"):
        apply_overrides({"train": {"steps": 3}}, {"train.steps.x": 1})


def test_methods_mapping_gives_per_method_defaults():
    raw = tiny_raw(**{"method.name": "gan"})
    raw["methods"] = {"gan": {}, "nsgan": {"nosuch": 1}}
    assert build_config(raw).method.name == "gan"
    raw["method"] = {"name": "nsgan"}
    with pytest.raises(ConfigError, match="method.nosuch"):
        build_config(raw)


def test_roundtrip_through_dict():
    cfg = build_config(tiny_raw(**{"data.std": 0.02}))
    again = build_config(cfg.to_dict())
    assert again == cfg
