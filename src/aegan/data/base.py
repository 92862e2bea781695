"""The dataset contract and registry.

A dataset is an endless source of real batches with its own seeded RNG, so that data
order is part of the checkpoint and a resumed run sees the same batches.

Every image dataset serves pixels in [0, 1] (``next_batch``, ``sample``, ``held_out``);
``data.range`` says what the nets train on (``training_batch``), and ``to_unit`` maps the
generator's samples back to [0, 1] for the metrics, sample grids and snapshots:

* ``unit`` (default): [0, 1] as served (000 Table 3: "Deconv, Sigmoid").
* ``symmetric``: 2x - 1, in [-1, 1] (DCGAN, Radford et al. 2016: "scaling to the range of
  the tanh activation function [-1, 1]"; 001, 003 and VEEGAN/PacGAN use its nets).
* ``standard``: (x - mean_c) / std_c with each channel's mean and std over the training
  split (002 Sec. 4.1: "normalized to have zero means and unit standard deviations based on
  the mean and standard deviation of the training set"; per channel is our reading: per
  pixel, MNIST's constant border has no std), estimated on ``STANDARD_IMAGES`` images.

The range sets the units of every constant on pixels (a gradient penalty's target norm, an
l1 or squared reconstruction error): the same number means another strength in another range.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Literal, Mapping

import torch
from pydantic import field_validator, model_serializer

from aegan.batch import Batch
from aegan.registry import Registry
from aegan.strict import StrictModel


Range = Literal["unit", "symmetric", "standard"]
# the generator output each range takes; the first is what model.output: auto picks
RANGE_OUTPUTS: dict[str, tuple[str, ...]] = {"unit": ("sigmoid", "linear"), "symmetric": ("tanh", "linear"),
                                             "standard": ("linear",)}
STANDARD_IMAGES = 5000  # training images that estimate the per-channel mean and std (seeded)


class DataConfig(StrictModel):
    """Base of every dataset's parameters (``aegan.strict``). ``data_kind`` says which
    metrics apply (``register_metric(data_kinds=...)``): "images" or "vectors".
    ``range``: what the nets train on (module docstring); vectors take "unit", i.e. as they are."""

    data_kind: ClassVar[str] = "images"

    range: Range = "unit"

    @field_validator("range")
    @classmethod
    def _images_only(cls, v: str) -> str:
        if v != "unit" and cls.data_kind != "images":
            raise ValueError(f"{v} maps image pixels; {cls.data_kind} data take range: unit (as they are)")
        return v

    @model_serializer(mode="wrap")
    def _omit_unit_range(self, handler) -> dict[str, Any]:
        """Leave ``range`` out at its default, so configs saved before it existed still match."""
        out = handler(self)
        if out.get("range") == "unit":
            out.pop("range")
        return out


class MissingDataset(FileNotFoundError):
    """A dataset's files are absent; the message says what to install or where to put what."""

    def __str__(self) -> str:
        return str(self.args[0])


class DataSource:
    """Base class: ``shape`` of one sample, ``next_batch(n)``, and RNG state for checkpoints."""

    shape: tuple[int, ...]
    protocol: str = ""  # recorded with every result

    def __init__(self, seed: int, device: torch.device):
        self.device = torch.device(device)
        self.rng = torch.Generator(device="cpu").manual_seed(seed)
        self._standard: tuple[torch.Tensor, torch.Tensor] | None = None

    def next_batch(self, n: int) -> Batch:
        """n real samples on the run's device; images in [0, 1]."""
        raise NotImplementedError

    @property
    def range(self) -> str:
        """``data.range`` of this source's config ("unit" where it has none)."""
        return getattr(getattr(self, "config", None), "range", "unit")

    def training_batch(self, n: int) -> Batch:
        """``next_batch(n)`` in the data range: what the nets train on."""
        batch = self.next_batch(n)
        return batch if self.range == "unit" else Batch(self.to_range(batch.x), batch.y)

    def to_range(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> the data range."""
        if self.range == "symmetric":
            return 2 * x - 1
        if self.range == "standard":
            mean, std = self._channel_view(x)
            return (x - mean) / std
        return x

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Samples in the data range -> [0, 1], what every metric, grid and snapshot sees;
        clamped, as an 8-bit image would be (a linear output can leave the range). The
        identity for ``unit``, so a run in [0, 1] sees its samples as before."""
        if self.range == "symmetric":
            return ((x + 1) / 2).clamp(0, 1)
        if self.range == "standard":
            mean, std = self._channel_view(x)
            return (x * std + mean).clamp(0, 1)
        return x

    def standard_statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std), each (C,), of the training split's pixels in [0, 1], per channel, over
        ``STANDARD_IMAGES`` images drawn by seed 0 (``sample``): the same for every run."""
        if self._standard is None:
            x = self.sample(STANDARD_IMAGES, 0).x.double()  # (n, C, H, W)
            x = x.transpose(0, 1).flatten(1)  # (C, n * H * W)
            self._standard = (x.mean(1).float(), x.std(1).clamp_min(1e-6).float())
        return self._standard

    def _channel_view(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, std = self.standard_statistics()
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return mean.to(x).view(shape), std.to(x).view(shape)

    def split_size(self, split: str | None = None) -> int | None:
        """How many distinct samples ``split`` (default: the training split) holds; None where
        there is no such number (a mixture's density, compositions of digits)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.set_state(state["rng"])

    def describe(self) -> dict[str, Any]:
        """The protocol name and parameters recorded with every result."""
        return {"protocol": self.protocol}


Builder = Callable[[Any, int, torch.device], DataSource]
DATASETS: Registry[tuple[type[DataConfig], Builder]] = Registry("dataset")


def register_dataset(name: str, config: type[DataConfig], builder: Builder) -> None:
    DATASETS.add(name, (config, builder))


def build_dataset(name: str, config: DataConfig, seed: int, device: torch.device) -> DataSource:
    return DATASETS[name][1](config, seed, device)
