"""A comparison's rows: its jobs (config, method or variant, seed, grid point) and their labels.

``aegan.compare`` plans and runs the jobs; the tables (``aegan.results.tables``) rebuild them
from records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aegan.config import apply_overrides, build_config, read_yaml


@dataclass(frozen=True)
class Job:
    config_path: str
    method: str  # a registered method or a variant declared under ``methods:``
    seed: int
    run_dir: str
    overrides: tuple[tuple[str, Any], ...]
    point: tuple[tuple[str, Any], ...] = ()  # the job's grid point (--grid), applied after the overrides

    @property
    def row(self) -> str:
        """The job's row in a table: its method, with its grid point if any."""
        return row_label(self.method, self.point)

    def config(self):
        raw = apply_overrides(read_yaml(self.config_path), {**dict(self.overrides), **dict(self.point)})
        raw["method"] = method_spec(raw, self.method)
        raw.setdefault("train", {})
        raw["train"] = {**raw["train"], "seed": self.seed, "threads": 1}
        return build_config(raw)


def method_spec(raw: dict[str, Any], label: str) -> dict[str, Any]:
    """The ``method`` section for a column label of a comparison.

    A label is a registered method name, or a variant declared under ``methods:`` with a
    ``name`` key (``methods: {vlgan_b02: {name: vlgan, beta: 0.2}}``), so that one
    comparison can hold several settings of one method."""
    spec = (raw.get("methods") or {}).get(label)
    if isinstance(spec, dict) and "name" in spec:
        return dict(spec)
    return {"name": label}


def dataset_label(config_path: str) -> str:
    return Path(config_path).stem


def row_label(method: str, point: tuple[tuple[str, Any], ...]) -> str:
    """``nsgan`` or, for a grid point, ``nsgan[train.lr=0.001,model.depth=2]`` (also the run's directory name)."""
    if not point:
        return method
    return f"{method}[" + ",".join(f"{key}={_scalar_text(value)}" for key, value in point) + "]"


def _scalar_text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def parse_row_label(label: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The inverse of ``row_label``."""
    if not label.endswith("]") or "[" not in label:
        return label, ()
    method, _, inner = label[:-1].partition("[")
    pairs = (item.partition("=") for item in inner.split(","))
    return method, tuple((key, yaml.safe_load(value)) for key, _, value in pairs)
