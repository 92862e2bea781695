"""Conv/deconv networks for images: one module family, image size, channels and width are
arguments (square or not: 8x8, 28x28, 28x84, 32x32, 64x64 ...).

Two presets of the same modules are registered as model families:

``conv`` -- the nets of 000 Table 3 (a = image side):
    D / E:  conv 5x5/2 64, ReLU, BN -> conv 5x5/2 128, ReLU, BN -> FC 1024, ReLU, BN -> FC out
    G:      FC 1024, ReLU, BN -> FC (a/4 x a/4 x 128), ReLU, BN -> deconv 5x5/2 64, ReLU, BN
            -> deconv 5x5/2 C, sigmoid
``dcgan`` -- the DCGAN nets of 003 Fig. 4 (32x32: 4x4x256 top; Gulrajani et al.'s
``gan_cifar.py`` at DIM = 64, whose code base 003 follows: its setting A, 200k iterations):
    D:      conv 5x5/2 64, LReLU -> conv 128, BN, LReLU -> conv 256, BN, LReLU -> flatten -> linear
    G:      linear (4x4x256), BN, ReLU -> deconv 128, BN, ReLU -> deconv 64, BN, ReLU -> deconv C
    At 64x64, ``layers: 4, g_entry_bn: channel`` is the 64x64 DCGAN (4x4x512 top, Gulrajani et
    al.'s ``gan_64x64.py`` DCGAN pair). Which config gives which paper's net: docs/nets.md.

Choices written down (the papers leave them open):
* D and E normalise before the activation, whatever ``bn_order`` says (it applies to G):
  with Table 3's literal "FC, ReLU, BN" the last BN sits directly before D's linear head,
  which fixes the batch mean of the logits, so a BN discriminator that sees real and fake
  batches separately (``batch_coupled``) cannot tell them apart (measured: D stuck at 0.5).
* D uses LeakyReLU(0.2) by default (Table 3 says ReLU; ``d_activation: relu`` restores it).
* G's output follows ``data.range`` (``model.output: auto``): a sigmoid on [0, 1] (000 Table
  3: "Deconv, Sigmoid"), tanh on [-1, 1] (DCGAN, and 003's DCGAN), linear on standardised data.
* D's last layer is linear: it returns logits, the sigmoid lives in the losses.
* The encoder mirrors the generator (001 App. B): the generator's layers in reverse with
  convolutions for deconvolutions -- which is D's layout (Table 3's "Conv" column with 50
  outputs) with ReLU, and a linear output, or a sigmoid where the method's prior lies on
  [0, 1]^d (``encoder(output="sigmoid")``: Table 3's "FC, Sigmoid 50", 000's methods at
  ``prior: unit_uniform``).
* Odd sizes: a stride-2 conv maps s -> ceil(s/2); each deconv's output_padding restores
  the exact size (28 -> 14 -> 7 -> 4 and back).

The generator keeps separate batch-norm statistics for codes from the prior
(``source="prior"``) and from the encoder (``source="encoder"``), sharing the affine
parameters (001 App. B), so reconstruction batches do not shift the statistics used to
sample; a source never seen in training borrows the other's statistics at eval time.
``hidden_dim`` / ``from_hidden`` is the input of the generator's first BN (the first FC's
output, after its ReLU in Table 3's order): GAN-RL feeds D's features there (003 Fig. 4);
in both presets D's ``feature_dim`` equals G's ``hidden_dim``.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator
from torch import Tensor, nn

from aegan.nets.factory import ModelConfig, NetFactory, output_layers, register_family, resolved_output
from aegan.nets.mlp import squash
from aegan.nets.source_bn import SourceBatchNorm
from aegan.strict import MAX_WIDTH

def conv_sizes(size: int, layers: int) -> list[int]:
    """[size, ceil(size/2), ...]: the spatial size after each stride-2 conv."""
    sizes = [size]
    for _ in range(layers):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _activation(kind: str) -> nn.Module:
    return nn.LeakyReLU(0.2) if kind == "leaky_relu" else nn.ReLU()


def _norm_act(norm: nn.Module | None, act: nn.Module, order: str) -> list[nn.Module]:
    if norm is None:
        return [act]
    return [act, norm] if order == "act_bn" else [norm, act]


class ConvConfig(ModelConfig):
    """Defaults: 000 Table 3."""

    latent_dim: int = Field(50, gt=0, le=MAX_WIDTH)
    width: int = Field(64, gt=0, le=MAX_WIDTH)  # channels of the first conv / last hidden deconv; doubled per layer
    layers: int = Field(2, gt=0, le=8)  # stride-2 conv (and deconv) layers: 8 halve 256 px to 1
    fc: int = Field(1024, ge=0, le=MAX_WIDTH)  # hidden FC width; 0 = none (DCGAN)
    kernel: int = Field(5, gt=0, le=31)
    d_activation: Literal["relu", "leaky_relu"] = "leaky_relu"
    d_batchnorm: bool = True  # BN in D; gradient-penalty methods build theirs without (NetFactory.for_method)
    first_bn: bool = True  # BN after the first conv of D and E (Table 3: yes; DCGAN: no)
    bn_order: Literal["act_bn", "bn_act"] = "act_bn"  # G only: Table 3 lists "ReLU, BN"; DCGAN "BN, ReLU"
    # G's first batch norm (fc = 0 only): "feature" normalises each of the flat linear
    # output's units (003's 32x32 DCGAN, Gulrajani et al.'s gan_cifar.py: BN over axis 0 of
    # the 4x4x256 vector); "channel" reshapes first and normalises per channel (Radford et
    # al.'s DCGAN, Gulrajani et al.'s 64x64 DCGAN: BN over (N, H, W) of the 4x4x512 map)
    g_entry_bn: Literal["feature", "channel"] = "feature"

    @model_validator(mode="after")
    def _entry_bn(self):
        if self.g_entry_bn == "channel" and self.fc:
            raise ValueError("g_entry_bn: channel needs fc: 0 (with an FC layer G's first batch norm is on its units)")
        return self

    @field_validator("kernel")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError(f"kernel must be odd (same-padding stride-2 convs), got {v}")
        return v


class DCGANConfig(ConvConfig):
    """Defaults: the DCGAN nets of 003 Fig. 4 (32x32 -> 4x4x256)."""

    latent_dim: int = Field(128, gt=0, le=MAX_WIDTH)
    layers: int = Field(3, gt=0, le=8)
    fc: int = Field(0, ge=0, le=MAX_WIDTH)
    first_bn: bool = False
    bn_order: Literal["act_bn", "bn_act"] = "bn_act"


class ConvStack(nn.Module):
    """x (N, C, H, W) -> features (N, feature_dim): stride-2 convs, then the optional FC."""

    def __init__(self, shape: tuple[int, int, int], c: ConvConfig, activation: str, batchnorm: bool):
        super().__init__()
        channels, h, w = shape
        hs, ws = conv_sizes(h, c.layers), conv_sizes(w, c.layers)
        layers: list[nn.Module] = []
        cin = channels
        for i in range(c.layers):
            cout = c.width * 2**i
            layers.append(nn.Conv2d(cin, cout, c.kernel, stride=2, padding=c.kernel // 2))
            norm = nn.BatchNorm2d(cout) if batchnorm and (i > 0 or c.first_bn) else None
            layers += _norm_act(norm, _activation(activation), "bn_act")
            cin = cout
        layers.append(nn.Flatten())
        self.flat_dim = cin * hs[-1] * ws[-1]
        self.out_dim = self.flat_dim
        if c.fc:
            layers.append(nn.Linear(self.flat_dim, c.fc))
            layers += _norm_act(nn.BatchNorm1d(c.fc) if batchnorm else None, _activation(activation), "bn_act")
            self.out_dim = c.fc
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvDiscriminator(nn.Module):
    """x (N, C, H, W) -> logits (N,) (or (N, out_dim)); ``features`` is the penultimate layer."""

    def __init__(self, shape, c: ConvConfig, out_dim: int = 1, batchnorm: bool | None = None):
        super().__init__()
        batchnorm = c.d_batchnorm if batchnorm is None else batchnorm
        self.features = ConvStack(shape, c, c.d_activation, batchnorm)
        self.feature_dim = self.features.out_dim
        self.out_dim = out_dim
        self.head = nn.Linear(self.feature_dim, out_dim)
        # BN: real and fake batches go through separately; without, in one batch
        self.batch_coupled = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.features.modules())

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.features(x))
        return out.squeeze(-1) if self.out_dim == 1 else out


class ConvEncoder(nn.Module):
    """x (N, C, H, W) -> code (N, out_dim): the generator mirrored (001 App. B); ``output``
    "sigmoid" puts the codes in [0, 1] (000 Table 3: "FC, Sigmoid 50")."""

    def __init__(self, shape, c: ConvConfig, out_dim: int, output: str = "linear"):
        super().__init__()
        self.body = ConvStack(shape, c, "relu", True)
        self.out = nn.Linear(self.body.out_dim, out_dim)
        self.output = output
        self.batch_coupled = True

    def forward(self, x: Tensor) -> Tensor:
        return squash(self.out(self.body(x)), self.output)


class ConvGenerator(nn.Module):
    """z (N, latent) -> x (N, C, H, W). ``source`` picks the batch-norm statistics."""

    def __init__(self, shape: tuple[int, int, int], c: ConvConfig, latent_dim: int):
        super().__init__()
        channels, h, w = shape
        hs, ws = conv_sizes(h, c.layers), conv_sizes(w, c.layers)
        top = c.width * 2 ** (c.layers - 1)
        flat = top * hs[-1] * ws[-1]
        self.hidden_dim = c.fc or flat
        act_first = c.bn_order == "act_bn"
        self.entry = nn.Sequential(nn.Linear(latent_dim, self.hidden_dim), *([nn.ReLU()] if act_first else []))
        unflatten = nn.Unflatten(1, (top, hs[-1], ws[-1]))
        if c.g_entry_bn == "channel":  # reshape, then one batch norm per channel
            body: list[nn.Module] = [unflatten, SourceBatchNorm(top)] + ([] if act_first else [nn.ReLU()])
        else:
            body = [SourceBatchNorm(self.hidden_dim)] + ([] if act_first else [nn.ReLU()])
            if c.fc:
                body += [nn.Linear(c.fc, flat), *_norm_act(SourceBatchNorm(flat), nn.ReLU(), c.bn_order)]
            body.append(unflatten)
        cin = top
        for i in reversed(range(c.layers)):  # deconv i: size (hs[i+1], ws[i+1]) -> (hs[i], ws[i])
            last = i == 0
            cout = channels if last else c.width * 2 ** (i - 1)
            pad = (hs[i] - 2 * hs[i + 1] + 1, ws[i] - 2 * ws[i + 1] + 1)
            body.append(nn.ConvTranspose2d(cin, cout, c.kernel, stride=2, padding=c.kernel // 2, output_padding=pad))
            if not last:
                body += _norm_act(SourceBatchNorm(cout), nn.ReLU(), c.bn_order)
            cin = cout
        body += output_layers(resolved_output(c.output, image=True))
        self.body = nn.ModuleList(body)

    def from_hidden(self, h: Tensor, source: str = "prior") -> Tensor:
        for layer in self.body:
            h = layer(h, source) if isinstance(layer, SourceBatchNorm) else layer(h)
        return h

    def forward(self, z: Tensor, source: str = "prior") -> Tensor:
        return self.from_hidden(self.entry(z), source)


class ConvFactory(NetFactory):
    config: ConvConfig
    image_family = "conv/dcgan"

    def generator(self, latent_dim: int | None = None) -> nn.Module:
        return ConvGenerator(self.data_shape, self.config, latent_dim or self.config.latent_dim)

    def discriminator(self, out_dim: int = 1, batchnorm: bool | None = None) -> nn.Module:
        batchnorm = self.discriminator_batchnorm(batchnorm, self.config.d_batchnorm)
        return ConvDiscriminator(self.discriminator_shape, self.config, out_dim, batchnorm)

    def encoder(self, out_dim: int | None = None, output: str = "linear") -> nn.Module:
        return ConvEncoder(self.data_shape, self.config, out_dim or self.config.latent_dim, output)


register_family("conv", ConvConfig, ConvFactory)
register_family("dcgan", DCGANConfig, ConvFactory)
