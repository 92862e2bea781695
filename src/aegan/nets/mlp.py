"""MLP networks for vector data (the 2D mixtures) and for images taken as rows of pixels
(001 Table 1's MNIST grid: G's output reshaped to the image and squashed into the data range).

Every generator exposes two entry points: ``forward(z)`` and ``from_hidden(h)``, where h is
the activation after the first layer; GAN-RL (003 Fig. 4) feeds discriminator features
there. Every discriminator exposes ``features(x)`` (the penultimate activation, D_F in
003 Eq. 3) and ``head(features)``; ``forward(x) = head(features(x))`` is one logit per row.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _FlatSequential(nn.Sequential):
    """A Sequential that flattens each sample first: (N, C, H, W) images enter an MLP as rows."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.flatten(1))


def _stack(in_dim: int, hidden: int, depth: int, activation: type[nn.Module], dropout: float = 0.0,
           cls: type[nn.Sequential] = nn.Sequential) -> nn.Sequential:
    """``depth`` Linear+activation(+dropout when ``dropout`` > 0) layers, the first from ``in_dim``."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(in_dim if i == 0 else hidden, hidden), activation()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return cls(*layers)


def squash(x: Tensor, output: str) -> Tensor:
    """x through the last activation ``output``: "sigmoid", "tanh" or "linear"."""
    if output == "sigmoid":
        return torch.sigmoid(x)
    return torch.tanh(x) if output == "tanh" else x


class MLPGenerator(nn.Module):
    """z (N, latent) -> x (N, *out_shape); ``hidden_dim`` is the width of the second entry.
    ``output``: "sigmoid" squashes into [0, 1], "tanh" into [-1, 1] (images); "linear" (2D points)."""

    def __init__(self, latent_dim: int, out_dim: int, hidden: int, depth: int,
                 out_shape: tuple[int, ...] | None = None, output: str = "linear"):
        super().__init__()
        self.hidden_dim = hidden
        self.out_shape = tuple(out_shape or (out_dim,))
        self.output = output
        self.entry = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU())
        self.body = nn.Sequential(_stack(hidden, hidden, depth - 1, nn.ReLU), nn.Linear(hidden, out_dim))

    def from_hidden(self, h: Tensor, source: str = "prior") -> Tensor:
        return squash(self.body(h).view(-1, *self.out_shape), self.output)

    def forward(self, z: Tensor, source: str = "prior") -> Tensor:
        """``source`` ("prior" or "encoder") selects batch-norm statistics in image nets."""
        return self.from_hidden(self.entry(z), source)


class MLPDiscriminator(nn.Module):
    """x (N, in_dim) -> logit (N,). ``feature_dim`` is the width of ``features(x)``."""

    def __init__(self, in_dim: int, hidden: int, depth: int, out_dim: int = 1, dropout: float = 0.0):
        super().__init__()
        self.feature_dim = hidden
        self.out_dim = out_dim
        self.features = _stack(in_dim, hidden, depth, nn.LeakyReLU, dropout, cls=_FlatSequential)
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.features(x))
        return out.squeeze(-1) if self.out_dim == 1 else out


class MLPEncoder(nn.Module):
    """x (N, in_dim) -> code (N, out_dim); a VAE encoder asks for out_dim = 2 * latent.
    ``output`` "sigmoid" puts the codes in [0, 1] (000 Table 3: "FC, Sigmoid")."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, depth: int, output: str = "linear"):
        super().__init__()
        self.output = output
        self.net = nn.Sequential(_stack(in_dim, hidden, depth, nn.LeakyReLU), nn.Linear(hidden, out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return squash(self.net(x.flatten(1)), self.output)


def flat_dim(shape: tuple[int, ...]) -> int:
    return int(torch.Size(shape).numel())
