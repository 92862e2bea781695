"""The net-factory contract and the registry of model families."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PositiveInt
from torch import nn

from aegan.registry import Registry
from aegan.nets.mlp import MLPDiscriminator, MLPEncoder, MLPGenerator, flat_dim


class ModelConfig(BaseModel):
    """Hyper-parameters shared by every family; families add their own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    latent_dim: PositiveInt = 2


class NetFactory:
    """Builds the roles a method declares: generator, discriminator, encoder, latent MLPs."""

    def __init__(self, config: ModelConfig, data_shape: tuple[int, ...]):
        self.config = config
        self.data_shape = tuple(data_shape)
        self.latent_dim = config.latent_dim

    def generator(self, latent_dim: int | None = None) -> nn.Module:
        """code (N, latent_dim or config.latent_dim) -> sample; also used as a decoder."""
        raise NotImplementedError

    def discriminator(self, out_dim: int = 1) -> nn.Module:
        raise NotImplementedError

    def encoder(self, out_dim: int | None = None) -> nn.Module:
        raise NotImplementedError

    def latent_mlp(self, in_dim: int, out_dim: int, hidden: int = 128, depth: int = 2) -> nn.Module:
        """A small MLP on codes (latent discriminators, feature adapters): same for all families."""
        if out_dim == 1:
            return MLPDiscriminator(in_dim, hidden, depth)
        return MLPEncoder(in_dim, out_dim, hidden, depth)


class MLPConfig(ModelConfig):
    hidden: PositiveInt = 128
    depth: PositiveInt = 2


class MLPFactory(NetFactory):
    """MLPs with ``depth`` hidden layers of ``hidden`` units (the toy reference: 2-128-128-out)."""

    config: MLPConfig

    def generator(self, latent_dim: int | None = None) -> nn.Module:
        c = self.config
        return MLPGenerator(latent_dim or c.latent_dim, flat_dim(self.data_shape), c.hidden, c.depth)

    def discriminator(self, out_dim: int = 1) -> nn.Module:
        c = self.config
        return MLPDiscriminator(flat_dim(self.data_shape), c.hidden, c.depth, out_dim)

    def encoder(self, out_dim: int | None = None) -> nn.Module:
        c = self.config
        return MLPEncoder(flat_dim(self.data_shape), out_dim or c.latent_dim, c.hidden, c.depth)


FAMILIES: Registry[tuple[type[ModelConfig], type[NetFactory]]] = Registry("model family")


def register_family(name: str, config: type[ModelConfig], factory: type[NetFactory]) -> None:
    FAMILIES.add(name, (config, factory))


register_family("mlp", MLPConfig, MLPFactory)


def build_factory(name: str, config: ModelConfig, data_shape: tuple[int, ...]) -> NetFactory:
    return FAMILIES[name][1](config, data_shape)


