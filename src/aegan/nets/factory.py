"""The net-factory contract and the registry of model families."""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import Field, model_serializer
from torch import nn

from aegan.registry import Registry
from aegan.strict import MAX_DEPTH, MAX_WIDTH, StrictModel
from aegan.nets.init import Init
from aegan.nets.mlp import MLPDiscriminator, MLPEncoder, MLPGenerator, flat_dim
from aegan.nets.packing import packed_shape

Output = Literal["auto", "sigmoid", "tanh", "linear"]


def resolved_output(output: str, image: bool) -> str:
    """``model.output`` as a net builds it: ``auto`` is a sigmoid on images (data in [0, 1])
    and linear on vectors. A run's config has ``auto`` resolved by ``data.range`` already
    (``aegan.config``: tanh for [-1, 1], linear for standardised data)."""
    if output != "auto":
        return output
    return "sigmoid" if image else "linear"


def output_layers(output: str) -> list[nn.Module]:
    """The layers that end a net with ``output`` (resolved): [] for linear."""
    return {"sigmoid": [nn.Sigmoid()], "tanh": [nn.Tanh()], "linear": []}[output]


class ModelConfig(StrictModel):
    """Hyper-parameters shared by every family; families add their own fields.

    ``init``: the initialisation of every net of the run (``aegan.nets.init``: default,
    dcgan, xavier). ``output``: the generator's last activation; ``auto`` follows
    ``data.range`` (sigmoid on [0, 1], tanh on [-1, 1], linear on standardised data; linear
    on vectors). Both are config-level, so every row of a table gets the same."""

    latent_dim: int = Field(2, gt=0, le=MAX_WIDTH)
    init: Init = "default"
    output: Output = "auto"

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler) -> dict[str, Any]:
        """Leave ``init`` and an unresolved ``output`` out at their defaults, so configs saved
        before they existed still match."""
        out = handler(self)
        for key, unset in (("init", "default"), ("output", "auto")):
            if out.get(key) == unset:
                out.pop(key)
        return out


class NetFactory:
    """Builds the roles a method declares: generator, discriminator, encoder, latent MLPs.

    ``critic_batchnorm`` False makes ``discriminator()`` build no batch norm whatever the
    config says; a method gets such a factory from ``for_method`` (gradient-penalty critics).
    """

    critic_batchnorm: bool = True
    image_family: str | None = None  # an image family's name: its nets need (C, H, W) data
    pack: int = 1  # samples per discriminator input (PacGAN): ``discriminator()`` builds D on packs

    def __init__(self, config: ModelConfig, data_shape: tuple[int, ...]):
        self.config = config
        self.data_shape = tuple(data_shape)
        self.latent_dim = config.latent_dim
        if self.image_family and len(self.data_shape) != 3:
            raise ValueError(f"model family {self.image_family} needs image data (C, H, W), got shape "
                             f"{self.data_shape}; use family mlp for vectors")

    def for_method(self, method) -> NetFactory:
        """This factory as ``method`` needs it: a copy that builds discriminators without
        batch norm where the method's ``critic_batchnorm`` is False, else this factory.

        A gradient penalty E (||grad_x D(x)||_2 - 1)^2 constrains D's gradient per sample;
        with batch norm D(x_i) depends on the other samples of the batch, so grad_x_i D(x_i)
        does too and the penalty is no longer the one of the papers. Gulrajani et al. 2017
        (WGAN-GP), Sec. 4 "No critic batch normalization": the penalty "is no longer valid
        in this setting ... we simply omit batch normalization in the critic in our models".
        Where BN is dropped the critic gets no normalisation at all, not the layer norm they
        suggest as a replacement: their own critics (the DCGAN one included) run without
        any, and so the critic stays the other methods' net minus its BN layers, with no
        parameters of its own.
        A method's ``build_nets`` calls this before asking for nets (``GradientPenalty``,
        ``WGANGP``), so it reaches every ``build_nets`` further down its class's MRO.
        """
        if getattr(method, "critic_batchnorm", True) or not self.critic_batchnorm:
            return self
        factory = copy.copy(self)
        factory.critic_batchnorm = False
        return factory

    def packed(self, pack: int) -> NetFactory:
        """This factory with ``discriminator()`` building D for packs of ``pack`` samples
        (``aegan.nets.packing``: the input m times wider, every other layer the same);
        generators, encoders and latent nets as before. ``pack`` 1 returns this factory."""
        if pack == self.pack:
            return self
        factory = copy.copy(self)
        factory.pack = pack
        return factory

    @property
    def discriminator_shape(self) -> tuple[int, ...]:
        """The input shape of ``discriminator()``: a sample, or a pack of ``pack`` samples."""
        return packed_shape(self.data_shape, self.pack)

    def discriminator_batchnorm(self, batchnorm: bool | None, configured: bool) -> bool:
        """Whether ``discriminator(batchnorm=...)`` holds batch norm: the argument where
        given, else the config's ``configured`` unless this factory forbids it."""
        return (configured and self.critic_batchnorm) if batchnorm is None else batchnorm

    def generator(self, latent_dim: int | None = None) -> nn.Module:
        """code (N, latent_dim or config.latent_dim) -> sample; also used as a decoder."""
        raise NotImplementedError

    def discriminator(self, out_dim: int = 1, batchnorm: bool | None = None) -> nn.Module:
        """x -> logits; ``batchnorm``: hold batch norm or not (None: ``d_batchnorm``)."""
        raise NotImplementedError

    def encoder(self, out_dim: int | None = None, output: str = "linear") -> nn.Module:
        """x -> code (N, out_dim); ``output``: "linear", or "sigmoid" for codes in [0, 1]
        (000 Table 3's encoder: "FC, Sigmoid 50")."""
        raise NotImplementedError

    @property
    def output(self) -> str:
        """The generator's last activation (``model.output``, ``auto`` resolved for this data)."""
        return resolved_output(self.config.output, len(self.data_shape) == 3)

    def latent_mlp(self, in_dim: int, out_dim: int, hidden: int = 128, depth: int = 2) -> nn.Module:
        """A small MLP on codes (latent discriminators, feature adapters): same for all families."""
        if out_dim == 1:
            return MLPDiscriminator(in_dim, hidden, depth)
        return MLPEncoder(in_dim, out_dim, hidden, depth)


class MLPConfig(ModelConfig):
    """``hidden``/``depth`` for every net; ``g_*``/``d_*`` set G's or D's apart (001 Table 1's
    grid varies nLayerG, sizeG, nLayerD, sizeD); ``d_dropout``: dropout after each of D's
    hidden layers (Table 1's dropoutD)."""

    hidden: int = Field(128, gt=0, le=MAX_WIDTH)
    depth: int = Field(2, gt=0, le=MAX_DEPTH)
    g_hidden: int | None = Field(None, gt=0, le=MAX_WIDTH)
    g_depth: int | None = Field(None, gt=0, le=MAX_DEPTH)
    d_hidden: int | None = Field(None, gt=0, le=MAX_WIDTH)
    d_depth: int | None = Field(None, gt=0, le=MAX_DEPTH)
    d_dropout: float = Field(0.0, ge=0.0, lt=1.0)


class MLPFactory(NetFactory):
    """MLPs with ``depth`` hidden layers of ``hidden`` units (the toy reference: 2-128-128-out).
    On images, nets take flattened pixels and G's output is reshaped and ends in ``output``
    (sigmoid into [0, 1], tanh into [-1, 1])."""

    config: MLPConfig

    def generator(self, latent_dim: int | None = None) -> nn.Module:
        c = self.config
        return MLPGenerator(latent_dim or c.latent_dim, flat_dim(self.data_shape), c.g_hidden or c.hidden,
                            c.g_depth or c.depth, out_shape=self.data_shape, output=self.output)

    def discriminator(self, out_dim: int = 1, batchnorm: bool | None = None) -> nn.Module:
        """MLP discriminators never hold batch norm, so ``batchnorm`` changes nothing."""
        c = self.config
        return MLPDiscriminator(flat_dim(self.discriminator_shape), c.d_hidden or c.hidden, c.d_depth or c.depth,
                                out_dim, dropout=c.d_dropout)

    def encoder(self, out_dim: int | None = None, output: str = "linear") -> nn.Module:
        c = self.config
        return MLPEncoder(flat_dim(self.data_shape), out_dim or c.latent_dim, c.hidden, c.depth, output=output)


FAMILIES: Registry[tuple[type[ModelConfig], type[NetFactory]]] = Registry("model family")


def register_family(name: str, config: type[ModelConfig], factory: type[NetFactory]) -> None:
    FAMILIES.add(name, (config, factory))


register_family("mlp", MLPConfig, MLPFactory)


def build_factory(name: str, config: ModelConfig, data_shape: tuple[int, ...]) -> NetFactory:
    return FAMILIES[name][1](config, data_shape)


