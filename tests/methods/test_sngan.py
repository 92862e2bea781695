"""SN-GAN (Miyato et al. 2018): every weight of D at spectral norm ~1 after a forward pass in
training mode, no batch norm in D, the row's optimiser, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import parametrize

from aegan.results.rows import Job
from aegan.config import ConfigError
from aegan.nets.spectral import spectral_layers
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods.test_images_registry import _config as image_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _largest_singular_values(d: torch.nn.Module) -> list[float]:
    """sigma_max of each layer's effective weight W / sigma(W), read in eval mode (no power
    iteration on reading), a conv kernel as the matrix (out, in * k * k)."""
    was = d.training
    d.eval()
    out = [torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item() for layer in spectral_layers(d)]
    d.train(was)
    return out


@pytest.mark.parametrize("family", ["mlp", "conv", "dcgan"])
def test_every_layer_of_d_has_spectral_norm_one_after_a_forward_in_training(family, tmp_path):
    if family == "mlp":
        trainer, x = Trainer(tiny_config(**{"method.name": "sngan"}), tmp_path), torch.randn(32, 2)
    else:
        trainer, x = Trainer(image_config("sngan", family=family), tmp_path), torch.rand(32, 1, 8, 8)
    d = trainer.nets["discriminator"]
    layers = spectral_layers(d)
    assert len(layers) >= 3 and all(parametrize.is_parametrized(layer, "weight") for layer in layers)
    raw = [torch.linalg.matrix_norm(layer.parametrizations.weight.original.detach().flatten(1), ord=2).item()
           for layer in layers]
    assert max(abs(s - 1) for s in raw) > 0.1  # the raw weights are not normalised themselves
    with torch.no_grad():
        d(x)
    # power iteration approaches sigma(W) from below, so W / sigma lies at 1 or a little above
    # (16 iterations so far: 15 at registration, 1 in the forward pass) ...
    assert all(0.999 < sigma < 1.06 for sigma in _largest_singular_values(d))
    with torch.no_grad():
        for _ in range(40):  # ... and converges to 1 as steps go by (one iteration per forward)
            d(x)
    for sigma in _largest_singular_values(d):
        assert sigma == pytest.approx(1.0, abs=1e-2)


def test_one_power_iteration_per_forward_in_training_none_in_eval(tmp_path):
    d = Trainer(tiny_config(**{"method.name": "sngan"}), tmp_path).nets["discriminator"]
    sn = spectral_layers(d)[1].parametrizations.weight[0]
    assert sn.n_power_iterations == 1
    u = sn._u.clone()
    with torch.no_grad():
        d(torch.randn(8, 2))
    assert not torch.equal(u, sn._u)
    d.eval()
    u = sn._u.clone()
    with torch.no_grad():
        d(torch.randn(8, 2))
    assert torch.equal(u, sn._u)


def test_snd_holds_no_batch_norm_where_nsgans_does(tmp_path):
    def batchnorms(name):
        d = Trainer(image_config(name, family="dcgan"), tmp_path / name).nets["discriminator"]
        return [m for m in d.modules() if isinstance(m, _BatchNorm)]

    assert batchnorms("nsgan") and not batchnorms("sngan")


def test_the_row_keeps_the_tables_optimiser_and_the_papers_is_a_variant(tmp_path):
    default = Trainer(tiny_config(**{"method.name": "sngan"}), tmp_path / "a").training_setup()
    assert {net: s["lr"] for net, s in default.items()} == {"generator": 1e-3, "discriminator": 1e-3}
    ring = str(CONFIGS / "toy" / "ring8.yaml")
    variant = Job(ring, "sngan_adam_c", 0, "", ()).config()
    assert (variant.method.name, variant.method.params.lr) == ("sngan", 2e-4)
    tuned = Trainer(tiny_config(**{"method.name": "sngan", "method.lr": 2e-4}), tmp_path / "b")
    for opt in tuned.optimizers.values():
        assert opt.param_groups[0]["lr"] == 2e-4 and opt.param_groups[0]["betas"] == (0.5, 0.999)
    stacked = Job(str(CONFIGS / "images" / "stacked_mnist_cpu.yaml"), "sngan", 0, "", ()).config()
    setting_c = (2e-4, (0.5, 0.999), 64)
    assert (stacked.train.lr, tuple(stacked.train.betas), stacked.train.batch_size) == setting_c


def test_saved_configs_name_spectral_norm_only_when_on():
    assert tiny_config(**{"method.name": "sngan"}).to_dict()["method"] == {"name": "sngan", "spectral_norm": True}
    assert "spectral_norm" not in tiny_config().to_dict()["method"]
    with pytest.raises(ConfigError, match="method.spectral_norm"):
        tiny_config(**{"method.name": "sngan", "method.spectral_norm": False})


def test_a_method_without_a_discriminator_on_samples_refuses_it():
    with pytest.raises(ConfigError, match="method.spectral_norm: method 'aae' has no discriminator on data samples"):
        tiny_config(**{"method.name": "aae", "method.spectral_norm": True})
