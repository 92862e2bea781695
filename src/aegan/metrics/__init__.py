"""Metrics: one file per metric, each a registry entry (``METRICS``)."""

from aegan.metrics.base import METRICS, EvalContext, evaluate, register_metric
from aegan.registry import import_submodules

import_submodules(__name__)

__all__ = ["METRICS", "EvalContext", "evaluate", "register_metric"]
