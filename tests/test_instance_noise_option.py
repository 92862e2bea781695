"""train.instance_noise: annealed input noise on the data-space discriminators of any method."""

import pytest
import torch

from aegan.config import ConfigError
from aegan.methods import METHODS
from aegan.nets.packing import pack, pack_of
from aegan.train import Trainer
from tests.conftest import tiny_config

NOISY = {"train.instance_noise": 1.0, "train.instance_noise_steps": 3}


def test_every_declared_data_discriminator_is_a_net_of_its_method():
    for name, method in METHODS.items():
        assert set(method.data_discriminators) <= set(method.nets), name


def test_noise_is_on_in_training_off_in_eval_and_gone_after_the_schedule(tmp_path):
    trainer = Trainer(tiny_config(**NOISY), tmp_path / "run")
    d, x = trainer.nets["discriminator"], torch.zeros(8, 2)
    with torch.no_grad():
        assert not torch.equal(d(x), d(x))  # fresh noise on every call in training mode
        d.eval()
        assert torch.equal(d(x), d(x))
        d.train()
        trainer.step = 3  # the schedule has annealed to 0
        assert torch.equal(d(x), d(x))


def test_methods_reading_d_features_directly_get_noisy_inputs_too(tmp_path):
    trainer = Trainer(tiny_config(**{**NOISY, "method.name": "gan_rl"}), tmp_path / "run")
    features, x = trainer.nets["discriminator"].features, torch.zeros(8, 2)
    with torch.no_grad():
        assert not torch.equal(features(x), features(x))


def _inputs_reaching_the_first_layer(trainer, name):
    """Record, for every training-mode call of data discriminator ``name``, (step, the input
    the method gave it, the input its first Linear layer received): their difference is the
    noise that reached D. The clean input is taken by hooks put before every other hook of the
    net and of its ``features`` (methods reading D's features call those directly)."""
    net, calls, clean = trainer.nets[name], [], {}
    first = next(m for m in net.modules() if isinstance(m, torch.nn.Linear))

    def given(module, args):
        clean.setdefault("x", args[0].detach().clone())  # the outermost entry of this call

    def reached(module, args):
        x = pack(clean.pop("x"), pack_of(net))  # a packed D (PacGAN) lays m samples side by side first
        if module.training:
            calls.append((trainer.step, x, args[0].detach().clone()))

    for entry in {net, net.features}:
        entry.register_forward_pre_hook(given, prepend=True)
    first.register_forward_pre_hook(reached)
    return calls


@pytest.mark.parametrize("method", sorted(m for m in METHODS if METHODS[m].data_discriminators))
def test_every_method_with_a_data_discriminator_gets_the_annealed_noise_on_its_input(method, tmp_path):
    """During training the input of each data discriminator's first layer is its input plus
    Gaussian noise of std sigma * (1 - step / instance_noise_steps) (1, 2/3, 1/3, then 0),
    measured on the noise that arrived, at every step and for every such net."""
    sigma, anneal, steps = 1.0, 3, 4
    trainer = Trainer(tiny_config(**{"method.name": method, "train.steps": steps, "train.batch_size": 256,
                                     "train.instance_noise": sigma, "train.instance_noise_steps": anneal,
                                     "eval.metrics": []}), tmp_path)
    calls = {name: _inputs_reaching_the_first_layer(trainer, name) for name in trainer.method.data_discriminators}
    trainer.fit(progress=False)
    for name, seen in calls.items():
        assert {step for step, _, _ in seen} == set(range(steps)), (name, "D was not called at every step")
        for step in range(steps):
            noise = torch.cat([(noisy - x).flatten() for s, x, noisy in seen if s == step]).double()
            want = sigma * max(0.0, 1 - step / anneal)
            if want == 0:
                assert torch.equal(noise, torch.zeros_like(noise)), (name, step)  # annealed away: the input itself
                continue
            spread = 5 / (2 * len(noise)) ** 0.5  # 5 standard errors of a sample std
            assert noise.std().item() == pytest.approx(want, rel=spread), (name, step)
            assert abs(noise.mean().item()) < 5 * want / len(noise) ** 0.5, (name, step)


def test_gan_ae_methods_take_the_noise_on_their_data_discriminator(tmp_path):
    """GAN+AE's D sees x and H(x) = G(E(x)): it is a data-space discriminator."""
    for name in ("gan_ae", "gan_ae_decay"):
        assert METHODS[name].data_discriminators == ("discriminator",)
        trainer = Trainer(tiny_config(**{**NOISY, "method.name": name}), tmp_path / name)
        d, x = trainer.nets["discriminator"], torch.zeros(8, 2)
        with torch.no_grad():
            assert not torch.equal(d(x), d(x))
    assert METHODS["ae"].data_discriminators == ()  # only a latent discriminator


def test_a_method_without_one_is_a_config_error():
    with pytest.raises(ConfigError, match="train.instance_noise: method 'aae' has no discriminator on data"):
        tiny_config(**{**NOISY, "method.name": "aae"})


def test_noise_without_a_schedule_length_is_a_config_error():
    with pytest.raises(ConfigError, match="instance_noise_steps must be > 0"):
        tiny_config(**{"train.instance_noise": 0.5})


def test_saved_configs_name_the_noise_only_when_it_is_on():
    assert "instance_noise" not in tiny_config().to_dict()["train"]  # configs saved before it still match
    assert tiny_config(**NOISY).to_dict()["train"]["instance_noise_steps"] == 3
