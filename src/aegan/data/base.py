"""The dataset contract and registry.

A dataset is an endless source of real batches with its own seeded RNG, so that data
order is part of the checkpoint and a resumed run sees the same batches.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from pydantic import BaseModel, ConfigDict

from aegan.methods.base import Batch
from aegan.registry import Registry


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
