"""The metric contract and registry: ``evaluate(context, names) -> {name: value}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from aegan.registry import Registry


@dataclass
class EvalContext:
    """What a metric may use: a sampler for the model, the dataset, the sample budget."""

    generate: Callable[[int], torch.Tensor]  # n -> (n, *shape) samples on the CPU
    dataset: object
    n_samples: int
    seed: int = 0


MetricFn = Callable[[EvalContext], dict[str, float | None]]
METRICS: Registry[MetricFn] = Registry("metric")


def register_metric(name: str):
    def wrap(fn: MetricFn) -> MetricFn:
        METRICS.add(name, fn)
        return fn

    return wrap


def evaluate(context: EvalContext, names: list[str]) -> dict[str, float | None]:
    """Run every named metric; keys are ``<metric>/<value>``."""
    out: dict[str, float | None] = {}
    for name in names:
        for key, value in METRICS[name](context).items():
            out[f"{name}/{key}"] = value
    return out
