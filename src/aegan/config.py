"""Typed run configuration: YAML + dotted command-line overrides, validated, frozen.

A run config has five sections. ``method``, ``data`` and ``model`` each pick a registry
entry by ``name`` (``family`` for ``model``) and are validated by that entry's own config
class, so each method owns its hyper-parameters. Any error is a ``ConfigError`` whose
message names the key and the accepted values.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt, ValidationError, field_validator,
                      model_serializer, model_validator)

from aegan.errors import ConfigError
from aegan.registry import Registry, UnknownName
from aegan.strict import MAX_BATCH, MAX_SAMPLES, MAX_SEED, StrictModel


class Section(StrictModel):
    """A config section (``aegan.strict``: frozen, unknown keys, inf/NaN and booleans for numbers rejected)."""


COMPILE_MODES = {"default": True, "graph": "graph"}  # train.compile's words, beside true/false


class TrainConfig(Section):
    steps: int = Field(2000, gt=0, le=10**9)
    batch_size: int = Field(256, gt=0, le=MAX_BATCH)
    optimizer: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)
    # learning-rate schedule, a pure function of the step (so resume needs no extra state):
    # constant, or linear decay to 0 at `steps` starting at the fraction `lr_decay_start`
    lr_decay: Literal["none", "linear"] = "none"
    lr_decay_start: float = Field(0.5, ge=0, lt=1)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    device: str = "auto"
    threads: int | None = Field(None, gt=0, le=1024)  # torch intra-op threads; None leaves torch's default
    log_every: PositiveInt = 100  # how often buffered scalars are written (every step is logged)
    checkpoint_every: PositiveInt = 1000
    snapshots: int = Field(5, gt=0, le=1000)  # sample snapshots for the figure, evenly spaced, last at the end
    tensorboard: bool = True
    # TensorBoard gets the scalars of every tensorboard_every-th step (log.jsonl keeps every
    # step): an event per scalar per step cost ~7 % of a small 2D step (benchmarks/loop_speed.py)
    tensorboard_every: PositiveInt = 10
    amp: bool = False  # bf16 autocast on CUDA
    # false: eager; true (or "default"): torch.compile each net (default mode); "graph": each
    # net's forward and backward captured as CUDA graphs (torch.compile mode="reduce-overhead"),
    # CUDA only: a run on another device refuses it (ConfigError naming train.compile).
    # "default" is stored as true, so configs and checkpoints written before stay the same run.
    compile: bool | Literal["graph"] = False
    # instance noise as a regulariser of any method: N(0, sigma_t^2) added to every input of
    # the method's data-space discriminators in training, sigma_t = instance_noise * max(0,
    # 1 - step / instance_noise_steps) (aegan.noise); 0 turns it off
    instance_noise: float = Field(0.0, ge=0)
    instance_noise_steps: NonNegativeInt = 0
    # warm start: copy the weights of ``init_nets`` (None: every net this method has that
    # the checkpoint holds) from a checkpoint file or run directory before step 0; the
    # optimisers start fresh. ``freeze``: nets that are never updated (a phase that updates
    # only frozen nets is skipped), e.g. training a strong D against a fixed G (002 Fig. 4)
    init_from: str | None = None
    init_nets: list[str] | None = None
    freeze: list[str] = []
    # the optimiser of single nets, over ``optimizer`` and the method's own choice (001 Table 1's
    # grid varies optimG and optimD: net_optimizers: {generator: sgd, discriminator: adam})
    net_optimizers: dict[str, Literal["adam", "rmsprop", "sgd"]] = {}
    # a factor on lr per net for every row of a table, replacing a method's own factor for the
    # nets it names (002's experiments give every row VLGAN's D at 10x: {discriminator: 10})
    lr_scale: dict[str, PositiveFloat] = {}
    # diagnostics: also log the gradient norm of each loss term of a multi-term phase over the
    # phase's nets (grad/<phase>/term/<term>; one extra backward per term; local to each rank)
    grad_per_term: bool = False

    @model_validator(mode="after")
    def _noise_schedule(self) -> "TrainConfig":
        if self.init_nets is not None and self.init_from is None:
            raise ValueError("init_nets needs init_from (the checkpoint or run directory to copy them from)")
        if self.instance_noise > 0 and self.instance_noise_steps == 0:
            raise ValueError("instance_noise_steps must be > 0 when instance_noise is on (the noise anneals to 0 "
                             "over that many steps)")
        return self

    @model_serializer(mode="wrap")
    def _omit_options_when_off(self, handler) -> dict[str, Any]:
        """Leave the instance-noise, warm-start, freeze and diagnostic keys out when they are off, so
        configs saved before they existed still match (``aegan compare`` compares saved configs)."""
        out = handler(self)
        if self.instance_noise == 0 and self.instance_noise_steps == 0:
            out.pop("instance_noise", None)
            out.pop("instance_noise_steps", None)
        for key, off in (("init_from", None), ("init_nets", None), ("freeze", []), ("grad_per_term", False),
                         ("net_optimizers", {}), ("lr_scale", {})):
            if out.get(key, off) == off:
                out.pop(key, None)
        return out

    @field_validator("compile", mode="before")
    @classmethod
    def _compile(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)) and v in (0, 1):  # pydantic's lax bool, as every other flag takes
            return bool(v)
        if isinstance(v, str) and v in COMPILE_MODES:
            return COMPILE_MODES[v]
        raise ValueError(f"must be false, true (= default: torch.compile the nets) or graph (CUDA graphs, "
                         f"CUDA only), got {v!r}")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {v!r}")
        return v

    @field_validator("betas")
    @classmethod
    def _betas(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(0 <= b < 1 for b in v):
            raise ValueError(f"betas must lie in [0, 1), got {list(v)}")
        return v


class EvalConfig(Section):
    metrics: list[str] = []
    n_samples: int = Field(2500, gt=0, le=MAX_SAMPLES)
    seed: int = Field(1234, ge=0, le=MAX_SEED)  # seeds the evaluation sampler, independent of training
    # metric name -> its parameters, checked by the metric's own model (``build_config``);
    # holds the keys given, the metric's defaults fill the rest
    params: dict[str, dict[str, Any]] = {}
    # also evaluate the metrics every this many steps while training (0: only at the end), on
    # every_n_samples samples (default n_samples): RUN_DIR/eval.jsonl, TensorBoard eval/*, the
    # record's eval_history and the report's metric-over-training curves; the training is the same
    every: int = Field(0, ge=0)
    every_n_samples: int | None = Field(None, gt=0, le=MAX_SAMPLES)

    @model_serializer(mode="wrap")
    def _omit_empty_params(self, handler) -> dict[str, Any]:
        """Leave ``params`` and the periodic evaluation out when unset, so configs saved before
        they existed still match."""
        out = handler(self)
        for key, unset in (("params", {}), ("every", 0), ("every_n_samples", None)):
            if out.get(key, unset) == unset:
                out.pop(key, None)
        return out


@dataclass(frozen=True)
class Choice:
    """A registry entry picked by name, with its validated parameters."""

    name: str
    params: BaseModel

    def dump(self, key: str = "name") -> dict[str, Any]:
        return {key: self.name, **self.params.model_dump(mode="json")}


@dataclass(frozen=True)
class RunConfig:
    method: Choice
    data: Choice
    model: Choice
    train: TrainConfig
    eval: EvalConfig

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method.dump(),
            "data": self.data.dump(),
            "model": self.model.dump("family"),
            "train": self.train.model_dump(mode="json"),
            "eval": self.eval.model_dump(mode="json"),
        }


SECTIONS = ("method", "data", "model", "train", "eval", "methods")


def _one_line(section: str, err: ValidationError, model: type[BaseModel]) -> str:
    first = err.errors()[0]
    key = ".".join([section, *map(str, first["loc"])]) if first["loc"] else section
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = f"unknown key; accepted: {', '.join(sorted(model.model_fields))}"
    elif "input" in first and first["type"] not in ("missing", "value_error"):
        msg += f" (got {first['input']!r})"
    return f"{key}: {msg}"


def _validate(section: str, model: type[BaseModel], raw: Any) -> BaseModel:
    try:
        return model.model_validate(_mapping(section, raw))
    except ValidationError as err:
        raise ConfigError(_one_line(section, err, model)) from None


def _mapping(section: str, raw: Any) -> dict[str, Any]:
    """A section's raw mapping ({} when absent); anything else is an error naming the section."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping of keys to values (e.g. --{section}.key=value), got {raw!r}")
    return dict(raw)


def _choice(section: str, raw: Any, registry: Registry, key: str, default: str | None = None) -> Choice:
    raw = _mapping(section, raw)
    name = raw.pop(key, default)
    if name is None:
        raise ConfigError(f"{section}.{key}: missing; accepted: {', '.join(registry)}")
    if not isinstance(name, str):
        raise ConfigError(f"{section}.{key}: expected a name, got {name!r}; accepted: {', '.join(registry)}")
    try:
        entry = registry[name]
    except UnknownName as err:
        raise ConfigError(f"{section}.{key}: {err}") from None
    config_cls = entry.Config if isinstance(entry, type) else entry[0]
    return Choice(name, _validate(section, config_cls, raw))


def build_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a raw nested dict (as loaded from YAML) into a frozen ``RunConfig``."""
    from aegan.data import DATASETS
    from aegan.methods import METHODS
    from aegan.metrics import METRICS
    from aegan.nets import FAMILIES

    if not isinstance(raw, dict):
        raise ConfigError(f"config: expected a mapping with sections {', '.join(SECTIONS)}")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section; accepted: {', '.join(SECTIONS)}")
    cfg = RunConfig(
        method=_choice("method", _method_section(raw), METHODS, "name"),
        data=_choice("data", raw.get("data"), DATASETS, "name"),
        model=_choice("model", raw.get("model"), FAMILIES, "family", default="mlp"),
        train=_validate("train", TrainConfig, raw.get("train")),
        eval=_check_metrics(_validate("eval", EvalConfig, raw.get("eval")), METRICS),
    )
    cfg = dataclasses.replace(cfg, model=_output_for_range(cfg.model, cfg.data))
    if cfg.train.instance_noise > 0 and not METHODS[cfg.method.name].data_discriminators:
        raise ConfigError(f"train.instance_noise: method {cfg.method.name!r} has no discriminator on data samples "
                          "to add noise to; set it to 0 (methods with one: "
                          + ", ".join(n for n, m in METHODS.items() if m.data_discriminators) + ")")
    _check_discriminator_options(cfg, METHODS)
    _check_metrics_fit(cfg.eval, cfg.data, METRICS)
    method = METHODS[cfg.method.name]
    if getattr(cfg.method.params, "generator_steps", 1) > 1 and not method.has_generator_phase:
        raise ConfigError(f"method.generator_steps: method {cfg.method.name!r} has no phase that updates the generator "
                          "alone, so there is nothing to repeat; set it to 1 (in a table: methods."
                          f"{cfg.method.name}: {{generator_steps: 1}} under methods.all)")
    own_nets = method.nets
    for key in ("freeze", "init_nets", "net_optimizers"):
        for i, net in enumerate(getattr(cfg.train, key) or []):
            if net not in own_nets:
                where = f"{key}.{net}" if key == "net_optimizers" else f"{key}.{i}"
                raise ConfigError(f"train.{where}: method {cfg.method.name!r} has no net {net!r}; its nets: "
                                  + ", ".join(own_nets))
    return cfg


def _check_discriminator_options(cfg: RunConfig, methods: Registry) -> None:
    """``method.pack`` and ``method.spectral_norm`` (``MethodConfig``) need a discriminator on
    data samples; packing also a method whose D may judge packs, and batches that split
    into whole packs."""
    name, params = cfg.method.name, cfg.method.params
    method = methods[name]
    pack, normalised = getattr(params, "pack", 1), getattr(params, "spectral_norm", False)
    for key, on, verb in (("pack", pack > 1, "pack the inputs of"), ("spectral_norm", normalised, "normalise")):
        if on and not method.discriminators_on_samples():
            raise ConfigError(f"method.{key}: method {name!r} has no discriminator on data samples to {verb}; "
                              f"leave {key} off (methods with one: "
                              + ", ".join(n for n, m in methods.items() if m.discriminators_on_samples()) + ")")
    if pack > 1 and method.pack_refusal:
        raise ConfigError(f"method.pack: method {name!r} cannot pack its discriminator's inputs: "
                          f"{method.pack_refusal}; set pack to 1")
    if pack > 1 and params.pack_batch == "samples" and cfg.train.batch_size % pack:
        raise ConfigError(f"method.pack: train.batch_size {cfg.train.batch_size} does not split into packs of {pack} "
                          f"(pack_batch: samples); use a batch size that is a multiple of {pack}, or pack_batch: packs")


def _check_metrics_fit(ev: EvalConfig, data: Choice, metrics: Registry) -> None:
    """Every metric applies to the data's kind, and has what it needs beyond its values (a weights file)."""
    kind = data.params.data_kind
    for i, metric in enumerate(ev.metrics):
        if kind not in metrics[metric].data_kinds:
            fitting = [n for n, m in metrics.items() if kind in m.data_kinds]
            raise ConfigError(f"eval.metrics.{i}: metric {metric!r} applies to {' or '.join(metrics[metric].data_kinds)}, "
                              f"not to dataset {data.name!r} ({kind}); metrics for it: {', '.join(fitting)}")
    for metric in dict.fromkeys(ev.metrics):
        entry = metrics[metric]
        if entry.preflight is not None:
            try:
                entry.preflight(entry.params(ev.params.get(metric)))
            except ValueError as err:
                raise ConfigError(f"eval.params.{metric}.{err}") from None


def build_eval_config(raw: dict[str, Any]) -> tuple[Choice, EvalConfig]:
    """The ``data`` and ``eval`` sections of a raw config alone, validated as ``build_config``
    validates them: what scoring samples that no run made needs (``aegan.evaluate``)."""
    from aegan.data import DATASETS
    from aegan.metrics import METRICS

    data = _choice("data", raw.get("data"), DATASETS, "name")
    ev = _check_metrics(_validate("eval", EvalConfig, raw.get("eval")), METRICS)
    _check_metrics_fit(ev, data, METRICS)
    return data, ev


def _output_for_range(model: Choice, data: Choice) -> Choice:
    """``model.output`` on images: ``auto`` becomes the activation of ``data.range`` (sigmoid
    for unit, tanh for symmetric, linear for standard), stored so; an output that cannot
    cover the range (a sigmoid on [-1, 1]) is an error naming the key."""
    from aegan.data.base import RANGE_OUTPUTS

    output = getattr(model.params, "output", None)
    if output is None or data.params.data_kind != "images":
        return model
    data_range = data.params.range
    fits = RANGE_OUTPUTS[data_range]
    if output == "auto":
        return Choice(model.name, model.params.model_copy(update={"output": fits[0]}))
    if output not in fits:
        raise ConfigError(f"model.output: {output} does not fit data.range {data_range}; use auto or "
                          + " or ".join(fits))
    return model


def _check_metrics(cfg: EvalConfig, metrics: Registry) -> EvalConfig:
    """Every metric named exists; ``params.<metric>`` passes the metric's own parameter model
    (kept as the keys given, with validated values)."""
    for i, metric in enumerate(cfg.metrics):
        if metric not in metrics:
            raise ConfigError(f"eval.metrics.{i}: unknown metric {metric!r}; accepted: {', '.join(metrics)}")
    params = {}
    for metric, raw in cfg.params.items():
        if metric not in metrics:
            raise ConfigError(f"eval.params.{metric}: unknown metric; accepted: {', '.join(metrics)}")
        checked = _validate(f"eval.params.{metric}", metrics[metric].Params, raw)
        params[metric] = checked.model_dump(mode="json", exclude_unset=True)
    return cfg.model_copy(update={"params": params})


# methods.all: settings of every row of a table (generator_steps; pack, spectral_norm on the
# rows whose discriminator can take them)
SHARED_METHOD_KEY = "all"


def _method_section(raw: dict[str, Any]) -> dict[str, Any]:
    """``method``, with defaults from ``methods.<name>`` (per-method settings of a config
    shared by several methods, as ``aegan compare`` uses it) and, under those, from
    ``methods.all`` (the table's schedule, every method's), under its own keys."""
    method = _mapping("method", raw.get("method"))
    per_method = raw.get("methods") or {}
    if not isinstance(per_method, dict):
        raise ConfigError("methods: expected a mapping of method name -> parameters")
    if not isinstance(method.get("name", ""), str):
        raise ConfigError(f"method.name: expected a name, got {method['name']!r}")
    defaults = per_method.get(method.get("name"), {}) or {}
    shared = per_method.get(SHARED_METHOD_KEY, {}) or {}
    for key, value in ((method.get("name"), defaults), (SHARED_METHOD_KEY, shared)):
        if not isinstance(value, dict):
            raise ConfigError(f"methods.{key}: expected a mapping of parameters")
    from aegan.methods import METHODS

    name = method.get("name")
    if isinstance(name, str) and name in METHODS and not METHODS[name].has_generator_phase:  # the table's G schedule has no G step to repeat here
        shared = {k: v for k, v in shared.items() if k != "generator_steps"}
    if isinstance(name, str) and name in METHODS:  # the table's D options, on the rows whose D can take them
        cls = METHODS[name]
        skip = {"pack", "pack_batch", "spectral_norm"} if not cls.discriminators_on_samples() else (
            {"pack", "pack_batch"} if cls.pack_refusal else set())
        shared = {k: v for k, v in shared.items() if k not in skip}
    return {**shared, **defaults, **method}


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["--train.steps=2000", "--data.std", "0.02"]`` -> {"train.steps": 2000, "data.std": 0.02}."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise ConfigError(f"{arg}: overrides look like --section.key=value")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 >= len(args):
                raise ConfigError(f"{key}: override has no value; write --{key}=VALUE")
            value, i = args[i + 1], i + 1
        try:
            out[key] = parse_yaml(value) if value != "" else ""
        except (yaml.YAMLError, ConfigError):
            out[key] = value
        i += 1
    return out


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``raw`` with dotted keys set (``model.hidden`` sets raw["model"]["hidden"])."""
    raw = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = raw
        for j, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{'.'.join(parts[: j + 1])}: is a value, not a section; cannot set {dotted}")
            node = child
        node[parts[-1]] = value
    return raw


class _StrictLoader(yaml.SafeLoader):
    """YAML as a config reads it: a duplicate key or an alias (``&a`` / ``*a``, the
    "billion laughs" expansion) is an error, not silently the last value or a blow-up."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise ConfigError(f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not accepted "
                              "in configs; write the value out")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}; "
                                  "each key may appear once in a mapping")
            seen.add(key)
        return super().construct_mapping(node, deep)


def parse_yaml(text: str) -> Any:
    """``text`` parsed by ``_StrictLoader``; nesting deep enough to exhaust the parser is a ConfigError."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise ConfigError("nested too deeply (a config has five sections of flat keys)") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}: {err.object[err.start:err.start + 1]!r}); "
                          "save the file as UTF-8") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with sections {', '.join(SECTIONS)}")
    return raw


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    return build_config(apply_overrides(read_yaml(path), overrides or {}))
