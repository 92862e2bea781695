"""The ``resnet`` family: the CIFAR-10 ResNet generator and critic of Gulrajani et al. 2017
(WGAN-GP, App. F / their ``gan_cifar_resnet.py``), the net of 003 Table 5 (003 Sec. 6.2,
footnote 2: "similar to the ones used in WGAN-GP [32] ... our method adopts LeakyRelu
activation function instead of Relu for the discriminator").

At 32x32 with the defaults (``g_width = d_width = 128``, ``latent_dim = 128``):

    G:  z (128) -> linear 4x4x128 -> 3 x ResBlock up (128) -> BN, ReLU -> conv 3x3 to C -> output
        ResBlock up:  BN, ReLU, upsample x2, conv 3x3, BN, ReLU, conv 3x3
                      + shortcut: upsample x2, conv 1x1
    D:  x -> OptimizedBlock down (128) -> ResBlock down (128) -> 2 x ResBlock (128)
          -> act, global mean pool (= ``features``, 128) -> linear (out_dim)
        OptimizedBlock: conv 3x3, act, conv 3x3, mean-pool 2x2  + shortcut: mean-pool, conv 1x1
        ResBlock down:  act, conv 3x3, act, conv 3x3, mean-pool  + shortcut: conv 1x1, mean-pool
        ResBlock:       act, conv 3x3, act, conv 3x3             + identity shortcut

Parameters at 32x32x3: G 1,204,483, D 1,053,825 (tests/nets/test_resnet.py counts them
layer by layer). Upsampling is nearest-neighbour (the reference's depth-to-space of four
copies of the input), mean pooling is 2x2 average pooling, every conv and linear layer has
a bias, the critic holds no normalisation (``NORMALIZATION_D = False`` there).

Choices written down (the papers leave them open):
* D's activation is LeakyReLU(0.2) (003 footnote 2; the slope is the DCGAN one of the same
  code base); ``d_activation: relu`` gives Gulrajani et al.'s critic exactly.
* ``d_batchnorm: true`` puts a batch norm before each activation of the residual blocks
  after the first (where the reference's ``Normalize`` sits); default false. Methods with a
  gradient penalty get no batch norm whatever this says (``NetFactory.for_method``).
* G's output follows ``data.range`` (``model.output: auto``): a sigmoid on [0, 1], tanh on
  [-1, 1] (the reference's: its data lie in [-1, 1]), linear on standardised data.
* GAN-RL (003 Eq. 3): D_F(x) is D's penultimate layer, the pooled ``d_width`` features. In
  003 Fig. 4's DCGAN they enter G at its first batch norm, skipping G's linear layer, because
  there D's flatten output and G's linear output have the same size. In this ResNet they do
  not (128 vs 4x4x128), and G's first batch norm sits inside its first residual block, so the
  literal skip would need a new 128 -> 2048 linear layer, the same shape as G's own input
  layer. The minimal map is G's own input layer: ``hidden_dim = latent_dim`` and
  ``from_hidden`` is ``forward``, so D_F(x) enters where z does; with ``latent_dim ==
  d_width`` (128 both, the default) the nets are NS-GAN's, parameter for parameter.
  (For other sizes ``shared_terms.FeatureMap`` adds its one linear layer.)
* Other sizes than 32x32 (no paper net; the same blocks at constant width): G starts at
  (H, W) / 2^k with ``up_blocks`` k, by default the most halvings that keep both sides even
  and the start side >= 4 (32 -> 4x4, 64 -> 4x4 with 4 blocks, 28 -> 7x7 with 2, 48 -> 6x6);
  D uses ``down_blocks`` = k - 1 (at least 1) down blocks, so D's last map is twice G's
  start, as at 32x32 (8x8). Odd sides are floored by the pooling.
* G keeps separate batch-norm statistics for codes from the prior and from an encoder
  (``SourceBatchNorm``, as the conv family; 001 App. B).
* The encoder is D's layout with ReLU and batch norm and a linear output (as the conv
  family's encoder).
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from aegan.nets.source_bn import SourceBatchNorm
from aegan.nets.factory import ModelConfig, NetFactory, register_family, resolved_output
from aegan.nets.mlp import squash
from aegan.strict import MAX_WIDTH


class ResNetConfig(ModelConfig):
    """Defaults: 003 Table 5's CIFAR-10 ResNet (Gulrajani et al. 2017's, LeakyReLU critic)."""

    latent_dim: int = Field(128, gt=0, le=MAX_WIDTH)
    g_width: int = Field(128, gt=0, le=MAX_WIDTH)  # channels of every generator block (DIM_G)
    d_width: int = Field(128, gt=0, le=MAX_WIDTH)  # channels of every critic block (DIM_D)
    up_blocks: int | None = Field(None, gt=0, le=8)  # None: from the image size (3 at 32x32)
    down_blocks: int | None = Field(None, gt=0, le=8)  # None: up_blocks - 1, at least 1 (2 at 32x32)
    plain_blocks: int = Field(2, ge=0, le=16)  # D's residual blocks without resampling
    kernel: int = Field(3, gt=0, le=31)
    d_activation: Literal["relu", "leaky_relu"] = "leaky_relu"
    d_batchnorm: bool = False


def default_up_blocks(h: int, w: int) -> int:
    """The most halvings of (h, w) that keep both even and the smaller side >= 4."""
    k = 0
    while h % 2 == 0 and w % 2 == 0 and min(h, w) // 2 >= 4:
        h, w, k = h // 2, w // 2, k + 1
    return k


def _act(kind: str) -> nn.Module:
    return nn.LeakyReLU(0.2) if kind == "leaky_relu" else nn.ReLU()


def _conv(cin: int, cout: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, padding=kernel // 2)


def _up(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def _pool(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 2)


class UpBlock(nn.Module):
    """BN, ReLU, up x2, conv, BN, ReLU, conv; shortcut up x2, conv 1x1 (generator)."""

    def __init__(self, cin: int, cout: int, kernel: int):
        super().__init__()
        self.bn1, self.conv1 = SourceBatchNorm(cin), _conv(cin, cout, kernel)
        self.bn2, self.conv2 = SourceBatchNorm(cout), _conv(cout, cout, kernel)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor, source: str = "prior") -> Tensor:
        h = self.conv1(_up(F.relu(self.bn1(x, source))))
        h = self.conv2(F.relu(self.bn2(h, source)))
        return self.shortcut(_up(x)) + h


class OptimizedDownBlock(nn.Module):
    """The critic's first block: conv, act, conv, pool; shortcut pool, conv 1x1 (no
    activation or normalisation on the raw image)."""

    def __init__(self, cin: int, cout: int, kernel: int, activation: str):
        super().__init__()
        self.conv1, self.act, self.conv2 = _conv(cin, cout, kernel), _act(activation), _conv(cout, cout, kernel)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(_pool(x)) + _pool(self.conv2(self.act(self.conv1(x))))


class DownBlock(nn.Module):
    """[BN], act, conv, [BN], act, conv, then pool if ``down``; shortcut conv 1x1 (+ pool),
    or the identity where neither the size nor the width changes (critic)."""

    def __init__(self, cin: int, cout: int, kernel: int, activation: str, batchnorm: bool, down: bool):
        super().__init__()
        self.down = down
        mid = cin if down else cout  # the reference: down blocks widen in their second conv
        self.norm1 = nn.BatchNorm2d(cin) if batchnorm else nn.Identity()
        self.act1, self.conv1 = _act(activation), _conv(cin, mid, kernel)
        self.norm2 = nn.BatchNorm2d(mid) if batchnorm else nn.Identity()
        self.act2, self.conv2 = _act(activation), _conv(mid, cout, kernel)
        self.shortcut = nn.Conv2d(cin, cout, 1) if down or cin != cout else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(self.act2(self.norm2(self.conv1(self.act1(self.norm1(x))))))
        shortcut = self.shortcut(x)
        if self.down:
            h, shortcut = _pool(h), _pool(shortcut)
        return shortcut + h


class ResNetFeatures(nn.Module):
    """x (N, C, H, W) -> (N, width): the critic's blocks, activation, global mean pool."""

    def __init__(self, channels: int, c: ResNetConfig, down_blocks: int, activation: str, batchnorm: bool):
        super().__init__()
        w = c.d_width
        blocks: list[nn.Module] = [OptimizedDownBlock(channels, w, c.kernel, activation)]
        blocks += [DownBlock(w, w, c.kernel, activation, batchnorm, down=True) for _ in range(down_blocks - 1)]
        blocks += [DownBlock(w, w, c.kernel, activation, batchnorm, down=False) for _ in range(c.plain_blocks)]
        self.blocks = nn.Sequential(*blocks)
        self.act = _act(activation)
        self.out_dim = w

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.blocks(x)).mean(dim=(2, 3))


class ResNetDiscriminator(nn.Module):
    """x -> logits (N,) (or (N, out_dim)); ``features`` is the pooled penultimate layer."""

    def __init__(self, shape, c: ResNetConfig, down_blocks: int, out_dim: int = 1, batchnorm: bool = False):
        super().__init__()
        self.features = ResNetFeatures(shape[0], c, down_blocks, c.d_activation, batchnorm)
        self.feature_dim = self.features.out_dim
        self.out_dim = out_dim
        self.head = nn.Linear(self.feature_dim, out_dim)
        self.batch_coupled = batchnorm

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.features(x))
        return out.squeeze(-1) if self.out_dim == 1 else out


class ResNetEncoder(nn.Module):
    """x -> code (N, out_dim): the critic's layout with ReLU and batch norm, linear output
    (or ``output`` "sigmoid": codes in [0, 1])."""

    def __init__(self, shape, c: ResNetConfig, down_blocks: int, out_dim: int, output: str = "linear"):
        super().__init__()
        self.body = ResNetFeatures(shape[0], c, down_blocks, "relu", True)
        self.out = nn.Linear(self.body.out_dim, out_dim)
        self.output = output
        self.batch_coupled = True

    def forward(self, x: Tensor) -> Tensor:
        return squash(self.out(self.body(x)), self.output)


class ResNetGenerator(nn.Module):
    """z (N, latent) -> x (N, C, H, W); ``source`` picks the batch-norm statistics.
    ``from_hidden`` = ``forward``: GAN-RL's D features enter at G's input (module docstring)."""

    def __init__(self, shape: tuple[int, int, int], c: ResNetConfig, latent_dim: int, up_blocks: int):
        super().__init__()
        channels, h, w = shape
        self.start = (c.g_width, h // 2**up_blocks, w // 2**up_blocks)
        self.hidden_dim = latent_dim
        self.entry = nn.Linear(latent_dim, c.g_width * self.start[1] * self.start[2])
        self.blocks = nn.ModuleList(UpBlock(c.g_width, c.g_width, c.kernel) for _ in range(up_blocks))
        self.out_bn = SourceBatchNorm(c.g_width)
        self.out_conv = _conv(c.g_width, channels, c.kernel)
        self.output = {"sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "linear": nn.Identity()}[
            resolved_output(c.output, image=True)]

    def forward(self, z: Tensor, source: str = "prior") -> Tensor:
        x = self.entry(z).view(-1, *self.start)
        for block in self.blocks:
            x = block(x, source)
        return self.output(self.out_conv(F.relu(self.out_bn(x, source))))

    def from_hidden(self, h: Tensor, source: str = "prior") -> Tensor:
        return self.forward(h, source)


class ResNetFactory(NetFactory):
    config: ResNetConfig
    image_family = "resnet"

    def __init__(self, config: ResNetConfig, data_shape: tuple[int, ...]):
        super().__init__(config, data_shape)
        _, h, w = self.data_shape
        self.up_blocks = config.up_blocks or default_up_blocks(h, w)
        if self.up_blocks < 1 or h % 2**self.up_blocks or w % 2**self.up_blocks:
            raise ValueError(f"model family resnet: image {h}x{w} is not divisible by 2^up_blocks "
                             f"(up_blocks = {self.up_blocks}); set model.up_blocks to a k with 2^k dividing both sides")
        self.down_blocks = config.down_blocks or max(1, self.up_blocks - 1)
        if 2**self.down_blocks > min(h, w):
            raise ValueError(f"model family resnet: {self.down_blocks} down blocks halve a {h}x{w} image below 1 pixel")

    def generator(self, latent_dim: int | None = None) -> nn.Module:
        return ResNetGenerator(self.data_shape, self.config, latent_dim or self.config.latent_dim, self.up_blocks)

    def discriminator(self, out_dim: int = 1, batchnorm: bool | None = None) -> nn.Module:
        batchnorm = self.discriminator_batchnorm(batchnorm, self.config.d_batchnorm)
        return ResNetDiscriminator(self.discriminator_shape, self.config, self.down_blocks, out_dim, batchnorm)

    def encoder(self, out_dim: int | None = None, output: str = "linear") -> nn.Module:
        return ResNetEncoder(self.data_shape, self.config, self.down_blocks, out_dim or self.config.latent_dim,
                             output)


register_family("resnet", ResNetConfig, ResNetFactory)
