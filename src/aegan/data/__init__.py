"""Datasets: every dataset is a registry entry (``DATASETS``)."""

from aegan.data.base import DATASETS, DataConfig, DataSource, MissingDataset, build_dataset, register_dataset
from aegan.registry import import_submodules

import_submodules(__name__)

__all__ = ["DATASETS", "DataConfig", "DataSource", "MissingDataset", "build_dataset", "register_dataset"]
