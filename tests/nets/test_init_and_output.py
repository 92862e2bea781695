"""model.init (default, dcgan, xavier) on every net of a run, and the generator's output
activation following data.range (sigmoid on [0, 1], tanh on [-1, 1], linear standardised)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from aegan.config import ConfigError, build_config
from aegan.nets import FAMILIES, build_factory
from aegan.nets.conv import SourceBatchNorm
from aegan.nets.init import WEIGHTED, initialise, run_init
from aegan.train import Trainer
from tests.conftest import tiny_raw

DIGITS = {"data.name": "digits", "eval.metrics": [], "model.latent_dim": 4}


def images(family: str = "mlp", data_range: str = "unit", **overrides):
    """tiny_raw on sklearn's 8x8 digits; ``family`` conv/dcgan at width 4, FC 8 (conv)."""
    raw = tiny_raw(**DIGITS, **{"data.range": data_range}, **overrides)
    if family != "mlp":
        raw["model"] = {"family": family, "latent_dim": 4, "width": 4, "layers": 2,
                        **({"fc": 8} if family == "conv" else {}),
                        **{k[6:]: v for k, v in overrides.items() if k.startswith("model.")}}
    return build_config(raw)


def _dcgan_nets():
    factory = build_factory("dcgan", FAMILIES["dcgan"][0](width=32, layers=2, latent_dim=16), (3, 16, 16))
    return [factory.generator(), factory.discriminator(), factory.encoder()]


def _pooled(modules, attr):
    return torch.cat([getattr(m, attr).detach().flatten() for m in modules])


def test_dcgan_init_is_normal_0_002_with_bn_scales_normal_1_002_and_zero_biases():
    """Radford et al. 2016: weights N(0, 0.02); dcgan_code: BN gains N(1, 0.02), biases 0."""
    torch.manual_seed(0)
    nets = [initialise(net, "dcgan") for net in _dcgan_nets()]
    modules = [m for net in nets for m in net.modules()]
    weighted = [m for m in modules if isinstance(m, WEIGHTED)]
    norms = [m for m in modules if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, SourceBatchNorm))]
    assert len(weighted) >= 9 and len(norms) >= 4 and any(isinstance(m, SourceBatchNorm) for m in norms)
    w = _pooled(weighted, "weight")
    assert abs(float(w.mean())) < 1e-3 and abs(float(w.std()) - 0.02) < 5e-4
    for layer in weighted:  # each layer, not only the pool: a layer left at PyTorch's init fails
        assert abs(float(layer.weight.detach().std()) - 0.02) < 0.004, layer
        assert bool((layer.bias == 0).all()), layer
    gains = _pooled(norms, "weight")
    assert abs(float(gains.mean()) - 1) < 0.01 and abs(float(gains.std()) - 0.02) < 0.006
    assert bool((_pooled(norms, "bias") == 0).all())


def test_default_init_is_not_dcgans():
    torch.manual_seed(0)
    weighted = [m for net in _dcgan_nets() for m in net.modules() if isinstance(m, WEIGHTED)]
    assert any(abs(float(m.weight.detach().std()) - 0.02) > 0.005 for m in weighted)
    assert any(bool((m.bias != 0).any()) for m in weighted)


def test_xavier_init_is_glorots_uniform_with_zero_biases():
    """002 Sec. 4.1 "the Xavier method [40]" (Glorot and Bengio 2010, Eq. 16: uniform)."""
    torch.manual_seed(0)
    for net in _dcgan_nets():
        for layer in initialise(net, "xavier").modules():
            if isinstance(layer, WEIGHTED):
                fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
                bound = math.sqrt(6 / (fan_in + fan_out))
                largest = float(layer.weight.detach().abs().max())
                assert 0.7 * bound < largest <= bound and bool((layer.bias == 0).all()), layer


def test_unknown_init_is_an_error():
    with pytest.raises(ValueError, match="dcgan"):
        initialise(nn.Linear(2, 2), "he")
    with pytest.raises(ConfigError, match="model.init"):
        build_config(tiny_raw(**{"model.init": "he"}))


def test_the_trainer_initialises_every_net_of_every_method_by_model_init(tmp_path):
    """Config-level: G, D, E and the latent D of a 000 method, VLGAN following the model."""
    for method in ("gan_ae", "vlgan", "gan_mb"):
        trainer = Trainer(build_config(tiny_raw(**{"method.name": method, "model.init": "dcgan"})), tmp_path / method)
        for name, net in trainer.nets.items():
            layers = [m for m in net.modules() if isinstance(m, WEIGHTED)]
            assert layers and abs(float(_pooled(layers, "weight").std()) - 0.02) < 0.004, (method, name)


def test_vlgan_follows_model_init_unless_a_variant_names_its_own():
    model = FAMILIES["mlp"][0](init="dcgan")
    vlgan = build_config(tiny_raw(**{"method.name": "vlgan"})).method.params
    variant = build_config(tiny_raw(**{"method.name": "vlgan", "method.init": "xavier"})).method.params
    assert vlgan.init == "model" and run_init(model, vlgan) == "dcgan"
    assert run_init(model, variant) == "xavier"
    assert run_init(model, build_config(tiny_raw()).method.params) == "dcgan"  # a method without an init of its own


@pytest.mark.parametrize("data_range, output, last", [("unit", "sigmoid", nn.Sigmoid), ("symmetric", "tanh", nn.Tanh),
                                                      ("standard", "linear", nn.ConvTranspose2d)])
def test_the_generator_output_follows_the_data_range(data_range, output, last):
    cfg = images("dcgan", data_range)
    assert cfg.model.params.output == output and cfg.to_dict()["model"]["output"] == output
    g = build_factory(cfg.model.name, cfg.model.params, (1, 8, 8)).generator()
    assert isinstance(list(g.body)[-1], last)


@pytest.mark.parametrize("data_range, low, high", [("unit", 0, 1), ("symmetric", -1, 1)])
def test_mlp_images_are_squashed_into_the_data_range(data_range, low, high):
    cfg = images("mlp", data_range)
    g = build_factory("mlp", cfg.model.params, (1, 8, 8)).generator()
    with torch.no_grad():
        x = g(10 * torch.randn(256, 4))
    assert float(x.min()) >= low and float(x.max()) <= high
    assert float(x.min()) < low + 0.05 and float(x.max()) > high - 0.05  # the whole range, not [0, 1] inside it


def test_an_output_that_cannot_reach_the_range_is_an_error():
    with pytest.raises(ConfigError, match="model.output: sigmoid does not fit data.range symmetric"):
        images("conv", "symmetric", **{"model.output": "sigmoid"})
    with pytest.raises(ConfigError, match="model.output: tanh"):
        images("conv", "standard", **{"model.output": "tanh"})


def test_defaults_leave_saved_configs_as_they_were():
    """Protocol hashes of the records: no new key where nothing was set."""
    toy = build_config(tiny_raw()).to_dict()
    assert "init" not in toy["model"] and "output" not in toy["model"] and "range" not in toy["data"]
    conv = images("conv").to_dict()
    assert conv["model"]["output"] == "sigmoid" and "init" not in conv["model"]  # as before model.output: auto


def test_000s_encoder_codes_and_prior_share_the_unit_cube(tmp_path):
    """000 Table 3: E ends in "FC, Sigmoid 50"; App. C: a uniform prior, here on [0, 1]^d."""
    trainer = Trainer(images("conv", **{"method.name": "gan_ae", "method.prior": "unit_uniform"}), tmp_path)
    x = trainer.data.next_batch(16).x
    with torch.no_grad():
        codes = trainer.nets["encoder"](1000 * x)
    z = trainer.method.prior(4096, x)
    assert float(codes.min()) >= 0 and float(codes.max()) <= 1
    assert float(z.min()) >= 0 and float(z.max()) < 1 and float(z.min()) < 0.01 and float(z.max()) > 0.99
    linear = Trainer(images("conv", **{"method.name": "gan_ae"}), tmp_path / "b")
    with torch.no_grad():
        assert float(linear.nets["encoder"](1000 * x).min()) < 0 and float(linear.method.prior(4096, x).min()) < -0.99
