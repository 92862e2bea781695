"""2D Gaussian mixtures: parameterised rings and grids, with the VEEGAN/PacGAN presets.

ring: ``modes`` centres at angle 2*pi*i/modes (i = 0..modes-1) on a circle of ``radius``.
grid: a sqrt(modes) x sqrt(modes) grid with ``spacing``, centred on the origin.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
from pydantic import Field, PositiveFloat, model_validator

from aegan.data.base import DataConfig, DataSource, register_dataset
from aegan.batch import Batch


class MixtureConfig(DataConfig):
    data_kind: ClassVar[str] = "vectors"
    modes: int = Field(8, gt=0, le=100_000)
    layout: Literal["ring", "grid"] = "ring"
    radius: PositiveFloat = 1.0
    spacing: PositiveFloat = 2.0
    std: PositiveFloat = 0.01
    weights: list[PositiveFloat] | None = None  # unequal mode weights; normalised

    @model_validator(mode="after")
    def _check(self):
        if self.layout == "grid" and math.isqrt(self.modes) ** 2 != self.modes:
            raise ValueError(f"modes: a grid needs a square number of modes, got {self.modes}")
        if self.weights is not None and len(self.weights) != self.modes:
            raise ValueError(f"weights: expected {self.modes} weights (one per mode), got {len(self.weights)}")
        return self


class Ring8(MixtureConfig):
    """VEEGAN/PacGAN ring: 8 modes, radius 1, std 0.01."""


class Grid25(MixtureConfig):
    """VEEGAN/PacGAN grid: 25 modes at {-4,-2,0,2,4}^2, std 0.05."""

    modes: int = Field(25, gt=0, le=100_000)
    layout: Literal["ring", "grid"] = "grid"
    spacing: PositiveFloat = 2.0
    std: PositiveFloat = 0.05


def mixture_centres(config: MixtureConfig) -> torch.Tensor:
    """(modes, 2) centres of the mixture."""
    if config.layout == "ring":
        angles = 2 * math.pi * torch.arange(config.modes, dtype=torch.float64) / config.modes
        return (config.radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()
    side = math.isqrt(config.modes)
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * config.spacing
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1).float()


class GaussianMixture(DataSource):
    shape = (2,)

    def __init__(self, config: MixtureConfig, seed: int, device: torch.device, protocol: str = "mixture"):
        super().__init__(seed, device)
        self.config = config
        self.protocol = protocol
        self.centres = mixture_centres(config)
        self.std = config.std
        w = torch.tensor(config.weights if config.weights else [1.0] * config.modes, dtype=torch.float64)
        self.weights = (w / w.sum()).float()
        self._centres_dev = self.centres.to(self.device)

    def sample(self, n: int, rng: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n points and their mode ids, drawn on the CPU with ``rng`` (default: own RNG)."""
        rng = rng or self.rng
        if self.config.weights is None:
            modes = torch.randint(self.config.modes, (n,), generator=rng)
        else:
            modes = torch.multinomial(self.weights, n, replacement=True, generator=rng)
        noise = torch.randn(n, 2, generator=rng) * self.std
        return self.centres[modes] + noise, modes

    def next_batch(self, n: int) -> Batch:
        x, modes = self.sample(n)
        return Batch(x.to(self.device, non_blocking=True), modes.to(self.device, non_blocking=True))

    def describe(self):
        return {"protocol": self.protocol, **self.config.model_dump()}


def _builder(protocol: str):
    return lambda config, seed, device: GaussianMixture(config, seed, device, protocol)


register_dataset("mixture", MixtureConfig, _builder("mixture"))
register_dataset("ring8", Ring8, _builder("ring8 (VEEGAN/PacGAN)"))
register_dataset("grid25", Grid25, _builder("grid25 (VEEGAN/PacGAN)"))
