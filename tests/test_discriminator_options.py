"""method.pack (PacGAN) and method.spectral_norm (SN-GAN): options of any method with a
discriminator on data samples; they compose with the method, with each other, with instance
noise, with a table's ``methods.all``, and survive a checkpoint."""

import pytest
import torch
from torch.nn.utils import parametrize

from aegan.checkpoint import load_checkpoint
from aegan.config import build_config
from aegan.methods import METHODS
from aegan.nets.packing import pack_of
from aegan.nets.spectral import spectral_layers
from aegan.train import Trainer, open_run
from tests.conftest import tiny_config, tiny_raw
from tests.methods._helpers import check_one_step
from tests.methods.test_images_registry import _config as image_config

ON_SAMPLES = sorted(name for name, m in METHODS.items() if m.discriminators_on_samples())
PACKABLE = [name for name in ON_SAMPLES if not METHODS[name].pack_refusal]
BOTH = {"method.pack": 2, "method.spectral_norm": True}


def _options_applied(trainer, pack: int, normalised: bool) -> None:
    for name in trainer.method.discriminators_on_samples():
        d = trainer.nets[name]
        assert pack_of(d) == pack, name
        layers = spectral_layers(d)
        assert layers and all(parametrize.is_parametrized(layer, "weight") == normalised for layer in layers), name


def test_every_declared_discriminator_on_samples_is_a_net_of_its_method():
    for name, method in METHODS.items():
        assert set(method.discriminators_on_samples()) <= set(method.nets), name
    assert {"nsgan", "gan_ae", "wgan_gp", "mdgan", "instance_noise", "pacgan", "sngan"} <= set(PACKABLE)
    assert not {"aae", "ae", "bigan", "ebgan", "began", "age", "gmmn"} & set(ON_SAMPLES)  # no D on samples
    assert {"gan_rl", "gan_gp_rl", "dragan_rl"} <= set(ON_SAMPLES) - set(PACKABLE)  # features per sample


@pytest.mark.parametrize("name", PACKABLE)
def test_every_method_with_a_discriminator_on_samples_takes_packing_and_spectral_norm(name, tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": name, **BOTH}), tmp_path)
    _options_applied(trainer, 2, True)
    check_one_step(trainer, name)


@pytest.mark.parametrize("name", sorted(set(ON_SAMPLES) - set(PACKABLE)))
def test_methods_that_cannot_pack_still_take_spectral_norm(name, tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": name, "method.spectral_norm": True}), tmp_path)
    _options_applied(trainer, 1, True)
    check_one_step(trainer, name)


@pytest.mark.parametrize("name,options", [("wgan_gp", {"method.spectral_norm": True}), ("gan_ae", {"method.pack": 2}),
                                          ("mdgan", BOTH), ("nsgan", BOTH)])
def test_options_compose_on_conv_nets(name, options, tmp_path):
    trainer = Trainer(image_config(name, **options), tmp_path)
    _options_applied(trainer, options.get("method.pack", 1), options.get("method.spectral_norm", False))
    check_one_step(trainer, name)
    if options.get("method.pack", 1) == 2:
        first = trainer.nets["discriminator"].features.net[0]
        assert first.in_channels == 2  # digits: one channel, two samples per pack


def test_packing_and_instance_noise_compose(tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": "gan_ae", "method.pack": 2, "train.instance_noise": 0.5,
                                     "train.instance_noise_steps": 10}), tmp_path)
    d = trainer.nets["discriminator"]
    with torch.no_grad():
        out = d(torch.zeros(8, 2))
        assert out.shape == (4,) and not torch.equal(out, d(torch.zeros(8, 2)))


def test_a_tables_shared_options_reach_the_rows_that_can_take_them():
    raw = tiny_raw()
    raw["methods"] = {"all": {"spectral_norm": True, "pack": 2}}
    for name, pack, normalised in (("nsgan", 2, True), ("gan_rl", 1, True), ("aae", 1, False)):
        params = build_config({**raw, "method": {"name": name}}).method.params
        assert (params.pack, params.spectral_norm) == (pack, normalised), name


@pytest.mark.parametrize("name", ["sngan", "pacgan"])
def test_checkpoints_round_trip_and_resume_exactly(name, tmp_path):
    options = {"method.name": name, "method.pack": 2, "method.spectral_norm": True} if name == "sngan" else \
        {"method.name": name, "method.pack": 2}
    full = Trainer(tiny_config(**{**options, "train.steps": 6}), tmp_path / "full")
    full.fit(progress=False)
    part = Trainer(tiny_config(**{**options, "train.steps": 3}), tmp_path / "part")
    part.fit(progress=False)
    saved = load_checkpoint(tmp_path / "part" / "checkpoints" / "last.pt")  # weights_only: no code runs
    keys = saved["nets"]["discriminator"].keys()
    if name == "sngan":
        assert any(k.endswith("parametrizations.weight.original") for k in keys)
        assert any(k.endswith("parametrizations.weight.0._u") for k in keys)
    assert saved["nets"]["discriminator"]["features.0.weight" if name == "pacgan" else
                                          "features.0.parametrizations.weight.original"].shape == (16, 4)
    resumed = open_run(tmp_path / "part", {"train.steps": 6})
    assert resumed.step == 3 and pack_of(resumed.nets["discriminator"]) == 2
    resumed.fit(progress=False)
    for net in full.nets:
        a, b = full.nets[net].state_dict(), resumed.nets[net].state_dict()
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (net, key)


def test_aegan_methods_lists_pacgan_and_sngan(capsys):
    from aegan.cli import main

    assert main(["methods"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "Lin et al. 2018" in lines["pacgan"] and "Miyato et al. 2018" in lines["sngan"]
