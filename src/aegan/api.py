"""aegan as a library: train, load, sample, evaluate and compare from Python.

The functions validate as the command line does, through the same functions, and raise
the exceptions the command line turns into its exit codes, with the same messages:
``ConfigError`` (exit 2; ``PluginError`` is one), ``MissingDataset``, ``CheckpointError``,
``DivergenceError`` (exit 3), ``StorageError`` (exit 4), ``RunBusy`` (exit 5).

Each call first loads the plugins of ``AEGAN_PLUGINS`` and of the ``aegan.plugins`` entry
points (``aegan.plugins``; ``load_plugins`` loads more), so a plugin's method, dataset,
net family or metric is a name like any other here.

Only the standard library at import time: ``import aegan`` stays fast, and the training
modules (``aegan.train``, ``aegan.compare``) import this one to be callable.
"""

from __future__ import annotations

import json
import math
import secrets
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from aegan.config import RunConfig
    from aegan.train import Trainer

ConfigLike = Union[str, Path, Mapping[str, Any]]  # a YAML file or a dict of sections
SamplesLike = Union["torch.Tensor", "np.ndarray", str, Path]  # values, or a folder of images / a .npy file
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def _plugins() -> None:
    from aegan.plugins import load_plugins

    load_plugins()


class Run:
    """A run directory with its nets in memory: what ``train`` returns and ``load`` opens."""

    def __init__(self, trainer: Trainer):
        self._trainer = trainer

    def __repr__(self) -> str:
        c = self.config
        return f"Run({str(self.run_dir)!r}, method={c.method.name!r}, data={c.data.name!r}, step={self.step})"

    @property
    def run_dir(self) -> Path:
        return self._trainer.paths.root

    @property
    def config(self) -> RunConfig:
        """The run's validated config (``config.to_dict()``: as its config.yaml holds it)."""
        return self._trainer.config

    @property
    def step(self) -> int:
        """Training steps done."""
        return self._trainer.step

    @property
    def generator(self) -> nn.Module:
        """The generator net: codes (n, latent_dim) ~ N(0, I) -> samples in the data range
        (``data.range``; ``sample`` maps images to [0, 1])."""
        return self._trainer.nets["generator"]

    @property
    def latent_dim(self) -> int:
        return self._trainer.method.latent_dim

    @property
    def record(self) -> dict[str, Any] | None:
        """The run's record.json (``aegan.results.records``: config, metrics, protocol, timing), None before one is written."""
        from aegan.results.records import read_record

        return read_record(self._trainer.paths.record)

    @property
    def metrics(self) -> dict[str, float | None]:
        """The metrics of the run's last evaluation (metrics.json), {} when it has none."""
        path = self._trainer.paths.metrics
        return json.loads(path.read_text()).get("metrics", {}) if path.is_file() else {}

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples on the CPU, (n, *data shape), as ``aegan sample`` writes them (images
        in [0, 1]); the same ``seed`` gives the same samples, None a fresh seed each call."""
        from aegan.config import ConfigError

        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ConfigError(f"n: must be a positive number of samples, got {n!r}")
        if seed is None:
            seed = secrets.randbelow(2**63)
        return self._trainer.generate(n, seed)

    def evaluate(self, metrics: str | Sequence[str] | None = None, **params: Any) -> dict[str, float | None]:
        """Compute metrics as ``aegan eval`` does (metrics.json and record.json are rewritten):
        ``metrics`` (default: the run's ``eval.metrics``), and ``params``: ``eval`` keys
        (``n_samples=1000``, ``seed=0``) or a metric's parameters by its name
        (``fid={"n_real": 2000}``). Returns {"<metric>/<value>": number}."""
        from aegan.config import ConfigError, apply_overrides, build_config

        _plugins()
        overrides = _eval_overrides(params)
        if metrics is not None:
            overrides["eval.metrics"] = _names(metrics, "metrics")
        trainer = self._trainer
        config = build_config(apply_overrides(trainer.config.to_dict(), overrides))
        if not config.eval.metrics:
            raise ConfigError("eval.metrics: the run names no metrics; pass metrics=[NAME, ...]")
        saved, trainer.config = trainer.config, config
        try:
            return trainer.evaluate()["metrics"]
        finally:
            trainer.config = saved


def _names(value: str | Sequence[str], what: str) -> list[str]:
    """A list of names from a list or a comma-separated string."""
    from aegan.config import ConfigError

    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    if not names or not all(isinstance(v, str) and v for v in names):
        raise ConfigError(f"{what}: give names, as a list or comma-separated, got {value!r}")
    return names


def _eval_overrides(params: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments -> dotted ``eval`` overrides: an eval key, or a metric's parameters by its name."""
    from aegan.config import ConfigError, EvalConfig
    from aegan.metrics import METRICS

    keys = [k for k in EvalConfig.model_fields if k != "metrics"]
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in keys:
            out[f"eval.{key}"] = value
        elif key in METRICS:
            out[f"eval.params.{key}"] = value
        else:
            raise ConfigError(f"{key}: neither an eval key ({', '.join(keys)}) nor a metric ({', '.join(METRICS)})")
    return out


def _run_config(config: ConfigLike, overrides: Mapping[str, Any] | None) -> RunConfig:
    from aegan.config import ConfigError, apply_overrides, build_config, load_config

    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(f"overrides: expected a dict of dotted keys, e.g. {{'train.steps': 50}}, got {overrides!r}")
    if isinstance(config, Mapping):
        return build_config(apply_overrides(dict(config), dict(overrides or {})))
    if isinstance(config, (str, Path)):
        return load_config(config, dict(overrides or {}))
    raise ConfigError(f"config: expected a YAML file or a dict of sections, got {type(config).__name__}")


def _fresh_run_dir(config: ConfigLike, cfg: RunConfig) -> Path:
    """runs/<config>_<method>_s<seed>_<time>, as ``aegan train`` names it (a dict config: its dataset's name)."""
    stem = Path(config).stem if isinstance(config, (str, Path)) else cfg.data.name
    base = Path("runs") / f"{stem}_{cfg.method.name}_s{cfg.train.seed}_{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 1
    while path.exists():  # two runs in one second
        i += 1
        path = base.with_name(f"{base.name}_{i}")
    return path


def train(config: ConfigLike, run_dir: str | Path | None = None, overrides: Mapping[str, Any] | None = None, *,
          progress: bool = False) -> Run:
    """Train one run as ``aegan train`` does and evaluate its ``eval.metrics``.

    ``config``: a YAML file or a dict of sections (``method``, ``data``, ``model``, ``train``,
    ``eval``); ``overrides``: dotted keys over it (``{"train.steps": 50}``); ``run_dir``:
    where to write it (default ``runs/<config>_<method>_s<seed>_<time>``), refused if it
    holds a run already. ``progress``: show the progress bars."""
    from aegan.config import ConfigError
    from aegan.progress import turned_off
    from aegan.train import Trainer

    _plugins()
    cfg = _run_config(config, overrides)
    path = Path(run_dir) if run_dir is not None else _fresh_run_dir(config, cfg)
    if (path / "checkpoints" / "last.pt").exists():
        raise ConfigError(f"run_dir: {path} already holds a run; open it with aegan.load({str(path)!r}) "
                          "or train into another directory")
    with turned_off(not progress):
        trainer = Trainer(cfg, path)
        trainer.fit(progress=progress)
    return Run(trainer)


def load(run_dir: str | Path, *, device: str | None = None) -> Run:
    """Open a run directory at its last checkpoint (``device``: e.g. "cpu" for a run trained on a GPU)."""
    from aegan.train import open_run

    _plugins()
    return Run(open_run(run_dir, {"train.device": device} if device is not None else None))


def evaluate(samples: SamplesLike, data: ConfigLike, metrics: str | Sequence[str] | None = None,
             **params: Any) -> dict[str, float | None]:
    """Metrics of samples that aegan did not make, against a configured dataset.

    ``samples``: a tensor or array (N, *data shape; images in [0, 1] or uint8, channels
    first or last), a folder of images (PNG, JPEG) or a .npy file. ``data``: a dataset
    name (``"ring8"``), a ``data`` section (``{"name": "cifar10", "root": ...}``), or a
    config (a YAML file or dict; its ``eval`` section gives the defaults, its ``model`` the
    third-party discriminator's architecture). ``metrics``: names (default: the config's);
    ``params``: ``eval`` keys or a metric's parameters by its name, as ``Run.evaluate``.
    ``n_samples`` defaults to the number of samples given. Returns {"<metric>/<value>": number}."""
    from aegan.config import ConfigError, apply_overrides, build_config, build_eval_config
    from aegan.data import build_dataset
    from aegan.metrics import METRICS, EvalContext
    from aegan.metrics import evaluate as run_metrics

    _plugins()
    raw = _data_raw(data)
    x = _read_samples(samples)
    if x.dim() == 0 or len(x) == 0:
        raise ConfigError(f"samples: none given (shape {tuple(x.shape)})")
    overrides = {"eval.n_samples": len(x), **_eval_overrides(params)}
    if metrics is not None:
        overrides["eval.metrics"] = _names(metrics, "metrics")
    raw = apply_overrides(raw, overrides)
    discriminator = None
    if "method" in raw:  # a whole run config: validated as one, its model builds the third-party D
        cfg = build_config(raw)
        source, ev = cfg.data, cfg.eval
    else:
        source, ev = build_eval_config(raw)
    if not ev.metrics:
        raise ConfigError("eval.metrics: no metrics named; pass metrics=[NAME, ...]")
    dataset = build_dataset(source.name, source.params, 0, "cpu")
    x = _fit_shape(x, tuple(dataset.shape), source.name, source.params.data_kind)
    if "method" in raw:
        from aegan.nets import build_factory

        discriminator = build_factory(cfg.model.name, cfg.model.params, dataset.shape).discriminator
    for name in ev.metrics:  # the third-party D: "the same architecture" as the run's, which needs a model
        settings = METRICS[name].params(ev.params.get(name))
        if discriminator is None and getattr(settings, "architecture", None) == "run":
            raise ConfigError(f"eval.params.{name}.architecture: run builds the run's discriminator and these samples "
                              f"have no run; pass a whole config (with its model section) as data, or "
                              f"{name}={{'architecture': 'fixed'}}")

    def take(n: int):
        if n > len(x):
            raise ConfigError(f"samples: a metric asks for {n} samples and {len(x)} were given; give more samples "
                              f"or a smaller n_samples")
        return x[:n]

    context = EvalContext(take, dataset, ev.n_samples, ev.seed, discriminator=discriminator)
    return run_metrics(context, ev.metrics, ev.params)


def _data_raw(data: ConfigLike) -> dict[str, Any]:
    """``data`` as a raw config: a dict with a ``data`` section (and, for a config, its others)."""
    from aegan.config import ConfigError, read_yaml

    if isinstance(data, Mapping):
        raw = dict(data)
        return raw if "data" in raw else {"data": raw}
    if isinstance(data, (str, Path)):
        text = str(data)
        if text.endswith((".yaml", ".yml")) or Path(text).is_file():
            return read_yaml(text)
        return {"data": {"name": text}}
    raise ConfigError(f"data: expected a dataset name, a data section, or a config (YAML file or dict), "
                      f"got {type(data).__name__}")


def _read_samples(samples: SamplesLike) -> torch.Tensor:
    import numpy as np
    import torch

    from aegan.config import ConfigError

    if isinstance(samples, (str, Path)):
        path = Path(samples)
        if path.is_dir():
            return _read_images(path)
        if path.suffix == ".npy" and path.is_file():
            return torch.from_numpy(np.load(path, allow_pickle=False))
        raise ConfigError(f"samples: {path} is neither a folder of images nor a .npy file")
    if isinstance(samples, np.ndarray):
        return torch.from_numpy(samples)
    if isinstance(samples, torch.Tensor):
        return samples.detach().cpu()
    raise ConfigError(f"samples: expected a tensor, an array, a folder of images or a .npy file, "
                      f"got {type(samples).__name__}")


def _read_images(folder: Path) -> torch.Tensor:
    """Every image of ``folder`` (sorted by name), uint8 (N, H, W, C)."""
    import numpy as np
    import torch
    from PIL import Image

    from aegan.config import ConfigError

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"samples: {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    arrays = []
    for file in files:
        with Image.open(file) as image:
            rgb = np.asarray(image.convert("RGB"))
        if arrays and rgb.shape != arrays[0].shape:
            raise ConfigError(f"samples: {file.name} is {rgb.shape[1]}x{rgb.shape[0]}, {files[0].name} "
                              f"{arrays[0].shape[1]}x{arrays[0].shape[0]}; every image must have one size")
        arrays.append(rgb)
    return torch.from_numpy(np.stack(arrays))


def _fit_shape(x: torch.Tensor, shape: tuple[int, ...], name: str, kind: str) -> torch.Tensor:
    """Samples as the metrics take them: float32 (N, *shape), images in [0, 1]; a clear error otherwise."""
    import torch

    from aegan.config import ConfigError

    uint8 = x.dtype == torch.uint8
    x = x.float() / 255 if uint8 else x.float()
    if x.dim() >= 2 and tuple(x.shape[1:]) != shape and kind == "images" and len(shape) == 3:
        c, h, w = shape
        if x.dim() == 4 and tuple(x.shape[1:3]) == (h, w) and x.shape[3] in (1, 3):  # channels last
            x = x.permute(0, 3, 1, 2)
        elif x.dim() == 3 and tuple(x.shape[1:]) == (h, w):  # grey, no channel axis
            x = x.unsqueeze(1)
        if x.shape[1:] == (3, h, w) and c == 1 and uint8:  # grey images saved as RGB
            x = x.mean(1, keepdim=True)
        elif x.shape[1:] == (1, h, w) and c == 3:
            x = x.expand(-1, 3, -1, -1)
    if x.dim() < 2 or tuple(x.shape[1:]) != shape:
        raise ConfigError(f"samples: shape {tuple(x.shape)}; dataset {name!r} has samples of shape {shape}, "
                          f"so give (N, {', '.join(map(str, shape))})")
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ConfigError(f"samples: {bad} values are NaN or inf")
    if kind == "images" and (float(x.min()) < -1e-3 or float(x.max()) > 1 + 1e-3):
        raise ConfigError(f"samples: images must lie in [0, 1] (or be uint8), got values in "
                          f"[{float(x.min()):.3g}, {float(x.max()):.3g}]; map [-1, 1] by (x + 1) / 2")
    return x.clamp(0, 1) if kind == "images" else x


@dataclass(frozen=True)
class Comparison:
    """What ``compare`` made: the markdown table, one entry per run, and the table as data.

    ``table``: a row per (config, row label), in the markdown's order, with ``benchmark``,
    ``config``, ``row``, ``seeds``, ``diverged`` (seeds), ``ms_per_step``, and per metric key
    ``mean`` (over the seeds' finite values), ``std`` (sample std, ddof 1; None under two
    values) and ``values`` (per seed, in ``seeds``' order). ``runs``: results.json's entries."""

    markdown: str
    runs: list[dict[str, Any]]
    table: list[dict[str, Any]]
    out: Path

    def __str__(self) -> str:
        return self.markdown

    def _repr_markdown_(self) -> str:  # a notebook shows the table
        return self.markdown

    def row(self, row: str, benchmark: str | None = None) -> dict[str, Any]:
        """The table's row of a label (and benchmark, where several configs were compared)."""
        found = [r for r in self.table if r["row"] == row and benchmark in (None, r["benchmark"])]
        if len(found) != 1:
            raise KeyError(f"{len(found)} rows labelled {row!r}" + (f" in {benchmark}" if benchmark else "")
                           + f"; rows: {', '.join(sorted({r['row'] for r in self.table}))}")
        return found[0]


def _table_data(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from aegan.results.rows import dataset_label

    rows = []
    for config, label in dict.fromkeys((r["config"], r["label"]) for r in runs):
        mine = [r for r in runs if r["config"] == config and r["label"] == label]
        keys = sorted({k for r in mine for k in r.get("metrics", {})})
        values = {k: [r.get("metrics", {}).get(k) for r in mine] for k in keys}
        mean, std = {}, {}
        for key, vals in values.items():
            finite = [float(v) for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
            mean[key] = sum(finite) / len(finite) if finite else None
            std[key] = (math.sqrt(sum((v - mean[key]) ** 2 for v in finite) / (len(finite) - 1))
                        if len(finite) > 1 else None)
        ms = [r["time_per_step_ms"] for r in mine if r.get("time_per_step_ms") is not None]
        rows.append({"benchmark": dataset_label(config), "config": config, "row": label,
                     "seeds": [r["seed"] for r in mine], "diverged": [r["seed"] for r in mine if r.get("diverged")],
                     "ms_per_step": sum(ms) / len(ms) if ms else None, "mean": mean, "std": std, "values": values})
    return rows


def compare(configs: str | Path | Sequence[str | Path], methods: str | Sequence[str], seeds: int | str | Sequence[int] = 3,
            *, out: str | Path = "results/compare", workers: int = 1, overrides: Mapping[str, Any] | None = None,
            grid: Mapping[str, Sequence[Any]] | Sequence[str] | None = None, sample: int | None = None,
            records: str | Path | None = None, progress: bool = False) -> Comparison:
    """Train ``methods`` x ``seeds`` on each config and tabulate them, as ``aegan compare``
    does (results.md, results.json and figures in ``out``; finished runs are reused).

    ``seeds``: a count N (0..N-1), ``"A-B"``, or the seeds; ``workers``: processes (1: in
    this one; plugins reach the workers: ``aegan.plugins``); ``overrides``: dotted keys;
    ``grid``: ``{"train.lr": [1e-4, 1e-3]}`` (the cartesian product), ``sample``: that many
    of its points; ``records``: also append each run's record to this records directory."""
    import yaml

    from aegan import compare as comparing
    from aegan.config import ConfigError
    from aegan.progress import turned_off

    _plugins()
    config_list = [configs] if isinstance(configs, (str, Path)) else list(configs)
    if not config_list:
        raise ConfigError("configs: give at least one YAML config")
    method_list = _names(methods, "methods")
    if not isinstance(seeds, (int, str)):  # the seeds themselves (one seed N as N-N: a lone N is a count)
        listed = [str(s) for s in seeds]
        seeds = f"{listed[0]}-{listed[0]}" if len(listed) == 1 else ",".join(listed)
    seed_list = comparing.parse_seeds(seeds)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0:
        raise ConfigError("--workers must be positive")
    if isinstance(grid, Mapping):
        grid = [f"{key}={yaml.safe_dump(list(values), default_flow_style=True).strip()}" for key, values in grid.items()]
    if sample is not None and not grid:
        raise ConfigError("--sample: draws points of a --grid; give one")
    points = comparing.grid_points(list(grid), sample) if grid else None
    with turned_off(not progress):
        markdown = comparing.compare([str(c) for c in config_list], method_list, seed_list, out, workers,
                                     dict(overrides or {}), progress, points, records)
    runs = json.loads((Path(out) / "results.json").read_text())
    return Comparison(markdown, runs, _table_data(runs), Path(out))


# -- aegan.train and aegan.compare: modules that are called as the functions above ------------
# ``aegan.train`` and ``aegan.compare`` are also modules (the loop, the comparison) that
# importing sets as attributes of the package, so each module is made callable: calling it
# calls the function of its name here; its attributes are the module's.

class _TrainModule(types.ModuleType):
    def __call__(self, config: ConfigLike, run_dir: str | Path | None = None,
                 overrides: Mapping[str, Any] | None = None, *, progress: bool = False) -> Run:
        return train(config, run_dir, overrides, progress=progress)


class _CompareModule(types.ModuleType):
    def __call__(self, configs: str | Path | Sequence[str | Path], methods: str | Sequence[str],
                 seeds: int | str | Sequence[int] = 3, *, out: str | Path = "results/compare", workers: int = 1,
                 overrides: Mapping[str, Any] | None = None, grid: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
                 sample: int | None = None, records: str | Path | None = None, progress: bool = False) -> Comparison:
        return compare(configs, methods, seeds, out=out, workers=workers, overrides=overrides, grid=grid, sample=sample,
                       records=records, progress=progress)


_TrainModule.__call__.__doc__ = train.__doc__
_CompareModule.__call__.__doc__ = compare.__doc__


def callable_module(name: str) -> None:
    """Make the module ``aegan.train`` or ``aegan.compare`` callable as the function of its name."""
    sys.modules[name].__class__ = {"aegan.train": _TrainModule, "aegan.compare": _CompareModule}[name]
