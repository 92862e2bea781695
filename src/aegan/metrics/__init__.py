"""Metrics: one file per metric, each a registry entry (``METRICS``) that owns its parameters."""

from aegan.metrics.base import METRICS, EvalContext, Metric, MetricParams, evaluate, register_metric, resolved_params
from aegan.registry import import_submodules

import_submodules(__name__)

__all__ = ["METRICS", "EvalContext", "Metric", "MetricParams", "evaluate", "register_metric", "resolved_params"]
