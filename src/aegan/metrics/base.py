"""The metric contract and registry: ``evaluate(context, names, params) -> {name: value}``.

Each registry entry is a ``Metric``: a function of the context and the metric's own
parameters, and the frozen pydantic model of those parameters (``MetricParams`` or a
subclass), which rejects unknown keys. ``eval.params.<metric>`` in a run config sets them;
the defaults are the protocol the metric always used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from pydantic import Field

from aegan.registry import Registry
from aegan.strict import MAX_SAMPLES, StrictModel


@dataclass
class EvalContext:
    """What a metric may use: a sampler for the model, the dataset, the sample budget."""

    generate: Callable[[int], torch.Tensor]  # n -> (n, *shape) samples on the CPU
    dataset: object
    n_samples: int
    seed: int = 0
    # the run's device: the metrics' networks run there (a metric's own ``device`` parameter
    # wins; None: cuda when available)
    device: str | None = None
    # the run's logged steps (log.jsonl rows), for metrics of the training path (dynamics);
    # None where there is no run (e.g. real-data statistics)
    log_rows: Callable[[], list[dict]] | None = None
    # a fresh, untrained discriminator of the run's model family as its config builds it (the
    # third-party D has "the same architecture" as the GAN's D, 001 Sec. 4.2.1); None where
    # there is no run
    discriminator: Callable[[], torch.nn.Module] | None = None
    # results shared by the metrics of one evaluation (e.g. generated Inception features that
    # fid and prdc both use); ``dataclasses.replace`` keeps the same dict
    memo: dict = field(default_factory=dict, repr=False, compare=False)


class MetricParams(StrictModel):
    """Parameters every metric accepts; subclasses add the metric's own."""

    n_samples: int | None = Field(None, gt=0, le=MAX_SAMPLES)  # generated samples for this metric; None: eval.n_samples


MetricFn = Callable[[EvalContext, Any], dict[str, float | None]]


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``fn(context, params)`` and its parameter model ``Params``."""

    fn: MetricFn
    Params: type[MetricParams] = MetricParams
    data_kinds: tuple[str, ...] = ("vectors", "images")  # the ``DataConfig.data_kind``s it applies to
    # checks run when a config names the metric, before training: ``preflight(params)``
    # raises ValueError with a message that starts with the parameter's name
    preflight: Callable[[Any], None] | None = None
    # the metric's columns in tables and reports, (title, key, digits) as ``aegan.results.cells.COLUMNS``
    # holds the built-in ones': a plugin metric declares its own (``register_metric(columns=...)``)
    columns: tuple[tuple[str, str, int | str], ...] = ()

    def params(self, raw: Mapping[str, Any] | MetricParams | None = None) -> MetricParams:
        """Validated parameters (a dict, a model instance or None for the defaults)."""
        return self.Params.model_validate(raw if raw is not None else {})

    def __call__(self, context: EvalContext, params: Mapping[str, Any] | MetricParams | None = None):
        p = self.params(params)
        if p.n_samples is not None:
            context = dataclasses.replace(context, n_samples=p.n_samples)
        return self.fn(context, p)


METRICS: Registry[Metric] = Registry("metric")


def register_metric(name: str, params: type[MetricParams] = MetricParams,
                    data_kinds: tuple[str, ...] = ("vectors", "images"),
                    preflight: Callable[[Any], None] | None = None,
                    columns: tuple[tuple[str, str, int | str], ...] = ()):
    """Decorator: register ``fn(context, params)`` under ``name`` with its parameter model,
    the kinds of data it applies to and an optional ``preflight(params)`` (both checked when
    the config is loaded, before training starts); ``columns``: its table columns,
    ``(title, "<name>/<key>", digits)`` (a plugin's metric; the built-in ones' are ``aegan.results.cells.COLUMNS``)."""

    def wrap(fn: MetricFn) -> MetricFn:
        METRICS.add(name, Metric(fn, params, data_kinds, preflight, tuple(tuple(c) for c in columns)))
        return fn

    return wrap


def evaluate(context: EvalContext, names: list[str],
             params: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, float | None]:
    """Run every named metric with its parameters (``params[name]``, defaults where
    absent); keys are ``<metric>/<value>``."""
    params = params or {}
    out: dict[str, float | None] = {}
    for name in names:
        for key, value in METRICS[name](context, params.get(name)).items():
            out[f"{name}/{key}"] = value
    return out


def resolved_params(names: list[str], params: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict]:
    """Every parameter each named metric runs with, defaults filled in, as JSON values:
    what a result records so that it can be reproduced."""
    params = params or {}
    return {name: METRICS[name].params(params.get(name)).model_dump(mode="json") for name in names}
