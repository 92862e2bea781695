"""Gradient-penalty critics hold no batch norm, whatever ``model.d_batchnorm`` says.

The penalty E (||grad_x D(x)||_2 - 1)^2 is per sample only if D(x_i) depends on x_i alone
(Gulrajani et al. 2017, Sec. 4); with batch norm every sample's gradient depends on the
rest of the batch. The methods with a penalty are found through ``critic_batchnorm``.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from aegan.methods import METHODS
from aegan.methods.gan_gp import GradientPenalty
from aegan.methods.wgan_gp import WGANGP
from aegan.nets import FAMILIES, build_factory
from aegan.train import Trainer
from tests.conftest import tiny_config

PENALTY_METHODS = sorted(name for name, cls in METHODS.items() if not cls.critic_batchnorm)
IMAGE_SHAPE = (1, 8, 8)
TINY_MODELS = {
    "mlp": ({"latent_dim": 3, "hidden": 8}, (2,)),
    "conv": ({"latent_dim": 3, "width": 4, "fc": 16, "d_batchnorm": True}, IMAGE_SHAPE),
    "dcgan": ({"latent_dim": 3, "width": 4, "fc": 0, "d_batchnorm": True}, IMAGE_SHAPE),
}


def _build(name: str, family: str, **model):
    params, shape = TINY_MODELS[family]
    config = FAMILIES[family][0](**{**params, **model})
    cls = METHODS[name]
    return cls(cls.Config(), config.latent_dim).build_nets(build_factory(family, config, shape))


def _batchnorms(net: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in net.modules() if isinstance(m, _BatchNorm)]


def test_penalty_methods_are_found():
    assert set(PENALTY_METHODS) >= {"wgan_gp", "gan_gp", "dragan", "gan_gp_rl", "dragan_rl"}
    for name, cls in METHODS.items():
        if issubclass(cls, (GradientPenalty, WGANGP)):
            assert name in PENALTY_METHODS, f"{name} has a gradient penalty but builds its critic with batch norm"


@pytest.mark.parametrize("family", list(TINY_MODELS))
@pytest.mark.parametrize("name", PENALTY_METHODS)
def test_penalty_critic_has_no_batchnorm(name, family):
    nets = _build(name, family)
    d = nets["discriminator"]
    assert not _batchnorms(d), f"{name} on {family}: the critic holds {_batchnorms(d)}"
    assert not getattr(d, "batch_coupled", False), f"{name} on {family}: a critic without BN is not batch-coupled"


@pytest.mark.parametrize("family", ["conv", "dcgan"])
@pytest.mark.parametrize("name", ["nsgan", "wgan"])
def test_other_critics_keep_their_batchnorm(name, family):
    """The control: without a penalty the config's d_batchnorm still holds (so the test above can fail)."""
    d = _build(name, family)["discriminator"]
    assert _batchnorms(d) and d.batch_coupled
    assert not _batchnorms(_build(name, family, d_batchnorm=False)["discriminator"])


@pytest.mark.parametrize("name", PENALTY_METHODS)
def test_trainer_builds_penalty_critic_without_batchnorm(name, tmp_path):
    """The path of a run: the Trainer with ``model.d_batchnorm: true`` on images."""
    model = {"family": "dcgan", "latent_dim": 4, "width": 4, "fc": 0, "layers": 2, "d_batchnorm": True}
    trainer = Trainer(tiny_config(**{"method.name": name, "data": {"name": "digits"}, "model": model,
                                     "eval": {"metrics": [], "n_samples": 64}}), tmp_path)
    d = trainer.nets["discriminator"]
    assert not _batchnorms(d) and not d.batch_coupled


def test_factory_discriminator_batchnorm_argument():
    params, shape = TINY_MODELS["conv"]
    factory = build_factory("conv", FAMILIES["conv"][0](**params), shape)
    assert _batchnorms(factory.discriminator()) and factory.discriminator().batch_coupled
    assert not _batchnorms(factory.discriminator(batchnorm=False))
    assert not factory.discriminator(batchnorm=False).batch_coupled
    off = build_factory("conv", FAMILIES["conv"][0](**{**params, "d_batchnorm": False}), shape)
    assert _batchnorms(off.discriminator(batchnorm=True))
    assert factory.for_method(METHODS["nsgan"]) is factory
    critic = factory.for_method(METHODS["gan_gp"])
    assert critic is not factory and factory.critic_batchnorm  # the run's factory is left as it was
    assert not _batchnorms(critic.discriminator()) and _batchnorms(critic.encoder())


def _input_gradient(d: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x)
    return grad


@pytest.mark.parametrize("name", PENALTY_METHODS)
def test_penalty_gradient_is_per_sample(name):
    """grad_x D(x)[0] does not change when the other samples of the batch change (D in
    training mode, as in the penalty); nsgan's BN discriminator is the control."""
    torch.manual_seed(0)
    x = torch.rand(8, *IMAGE_SHAPE)
    other = x.clone()
    other[1:] = torch.rand(7, *IMAGE_SHAPE) * 3
    for family in ("conv", "dcgan"):
        d = _build(name, family)["discriminator"].train()
        torch.testing.assert_close(_input_gradient(d, x)[0], _input_gradient(d, other)[0])
        control = _build("nsgan", family)["discriminator"].train()
        assert not torch.allclose(_input_gradient(control, x)[0], _input_gradient(control, other)[0])
