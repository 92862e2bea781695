"""The dataset contract and registry.

A dataset is an endless source of real batches with its own seeded RNG, so that data
order is part of the checkpoint and a resumed run sees the same batches.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import torch

from aegan.methods.base import Batch
from aegan.registry import Registry
from aegan.strict import StrictModel


class DataConfig(StrictModel):
    """Base of every dataset's parameters (``aegan.strict``). ``data_kind`` says which
    metrics apply (``register_metric(data_kinds=...)``): "images" or "vectors"."""

    data_kind: ClassVar[str] = "images"


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

    def next_batch(self, n: int) -> Batch:
        raise NotImplementedError

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
