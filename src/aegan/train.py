"""THE training loop: the only place that calls zero_grad, backward and step.

``Trainer`` builds a run from a ``RunConfig`` (dataset, method, networks, optimisers),
runs the method's phases step after step, logs every loss term, gradient norm and
diagnostic, saves atomic checkpoints holding everything needed to resume exactly, takes
sample snapshots for the figures, and evaluates the configured metrics at the end.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from tqdm.auto import tqdm

from aegan import distributed
from aegan.checkpoint import (CheckpointError, atomic_write, atomic_write_json, atomic_write_text, capture_rng, load_checkpoint,
                              restore_rng, save_checkpoint)
from aegan.config import ConfigError, RunConfig, build_config
from aegan.data import DataSource, build_dataset
from aegan.methods import METHODS, Batch, Phase
from aegan.methods.base import build_method_nets
from aegan.metrics import EvalContext, evaluate, resolved_params
from aegan.nets import build_factory
from aegan.nets.init import run_init
from aegan.progress import disable as progress_disable
from aegan.noise import add_instance_noise, linear_anneal
from aegan.monitor import Monitor
from aegan.results.records import EVAL_TIME
from aegan.runlock import run_lock
from aegan.runlog import DivergenceError, NullLog, ScalarLog, append_line, truncate_after


class RunPaths:
    """The layout of a run directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.checkpoint = self.root / "checkpoints" / "last.pt"
        self.samples = self.root / "samples"
        self.metrics = self.root / "metrics.json"
        self.record = self.root / "record.json"
        self.log = self.root / "log.jsonl"
        self.eval_log = self.root / "eval.jsonl"
        self.figure = self.root / "samples.png"


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {name!r} asked for but CUDA is not available; use auto or cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"train.device: {name!r} asked for but this machine has {torch.cuda.device_count()} GPU(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device: 'mps' asked for but this torch build or machine has no MPS; use auto or cpu")
    return device


def compiled_nets(nets: nn.ModuleDict, mode: bool | str, device: torch.device,
                  retain_graph: bool = False) -> dict[str, nn.Module]:
    """The nets the phases call (``train.compile``): the nets themselves (false), wrapped in
    ``torch.compile`` (true), or compiled with mode="reduce-overhead" (``graph``: each net's
    forward and backward replayed as CUDA graphs; CUDA only). Parameters, checkpoints and
    evaluation use the nets themselves, so the wrapping never shows in a state dict.
    ``retain_graph`` (``train.grad_per_term``: one backward per term through the same graph)
    turns off AOTAutograd's donated buffers, which allow a compiled backward to run once only.
    Double backward (gradient penalties, unrolled GAN) calls the eager module behind the
    wrapper (``losses.penalties``, ``methods.unrolled``)."""
    if not mode:
        return dict(nets.items())
    if retain_graph:
        try:
            import torch._functorch.config as functorch_config

            functorch_config.donated_buffer = False
        except (ImportError, AttributeError):  # older torch: no donated buffers
            pass
    if mode == "graph":
        if device.type != "cuda":
            raise ConfigError(f"train.compile: graph captures CUDA graphs and needs a CUDA device; this run's device "
                              f"is {device.type} (train.device): use compile: false (eager) or true (torch.compile)")
        return {name: torch.compile(net, mode="reduce-overhead", dynamic=False) for name, net in nets.items()}
    return {name: torch.compile(net) for name, net in nets.items()}


def make_optimizer(params: list[nn.Parameter], settings: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam/RMSprop/SGD with the fastest implementation the build offers (fused, else foreach)."""
    kind, lr = settings["optimizer"], settings["lr"]
    if kind == "adam":
        try:
            return torch.optim.Adam(params, lr=lr, betas=tuple(settings["betas"]), fused=True)
        except (RuntimeError, TypeError):
            return torch.optim.Adam(params, lr=lr, betas=tuple(settings["betas"]), foreach=True)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    return torch.optim.SGD(params, lr=lr, foreach=True)


def _norm(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """The L2 norm of a list of tensors taken as one vector, as a 0-d tensor (no host sync)."""
    if not tensors:
        return torch.zeros((), device=device)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(tensors)))


def _total_grad_norm(params: list[nn.Parameter], device: torch.device) -> torch.Tensor:
    """||grad||_2 over a net's parameters."""
    return _norm([p.grad for p in params if p.grad is not None], device)


def lr_factor(step: int, steps: int, decay: str, start: float) -> float:
    """The multiplier of the base learning rate at ``step`` (0-based) of ``steps``."""
    if decay == "none":
        return 1.0
    begin = start * steps
    if step < begin:
        return 1.0
    return max(0.0, (steps - step) / max(steps - begin, 1.0))


def snapshot_steps(steps: int, count: int) -> set[int]:
    return {max(1, round(steps * k / count)) for k in range(1, count + 1)}


class Trainer:
    def __init__(self, config: RunConfig, run_dir: str | Path, data: DataSource | None = None):
        """``data``: a data source to train on instead of the config's dataset (aegan.results.compute
        counts a step's FLOPs on random batches of the data's shape, without its files)."""
        self.config = config
        self.paths = RunPaths(run_dir)
        train = config.train
        if train.threads:
            torch.set_num_threads(train.threads)
        self.dist = distributed.setup(train.device)
        self.device = resolve_device(train.device, self.dist.local_rank)
        if self.device.type == "cuda":  # this process's current device: CUDA graphs and streams use it
            torch.cuda.set_device(self.device)
        torch.manual_seed(train.seed)  # the same initial nets on every rank
        np.random.seed(train.seed % 2**32)
        random.seed(train.seed)  # for user code and libraries: aegan itself draws from torch's RNGs
        rank_seed = train.seed + 10007 * self.dist.rank  # each rank its own batches and z
        self.data = data if data is not None else build_dataset(config.data.name, config.data.params, rank_seed,
                                                                self.device)
        self.method = METHODS[config.method.name](config.method.params, config.model.params.latent_dim)
        if self.dist.active:
            self.method.batch_mean = self.dist.mean  # batch statistics of the method's state: over all ranks
        factory = build_factory(config.model.name, config.model.params, self.data.shape)
        self.factory = factory  # the metrics' third-party D is its discriminator (001 Sec. 4.2.1)
        nets = build_method_nets(self.method, factory, run_init(config.model.params, config.method.params))
        self.nets = nn.ModuleDict(nets).to(self.device)
        if self.dist.active:
            self.dist.broadcast_parameters(self.nets)
            torch.manual_seed(rank_seed)
        if self.device.type == "cuda" and len(self.data.shape) == 3:
            self.nets = self.nets.to(memory_format=torch.channels_last)
        if train.init_from is not None:
            self._warm_start(train.init_from, train.init_nets)
        if train.instance_noise > 0:
            self._add_instance_noise()
        self.forward_nets = compiled_nets(self.nets, train.compile, self.device, retain_graph=train.grad_per_term)
        self._graph_steps = train.compile == "graph"
        self._batch_samples = self.method.batch_samples(train.batch_size)  # x pack where the batch counts packs
        defaults = {"optimizer": train.optimizer, "lr": train.lr, "betas": train.betas}
        self.optimizers = {
            name: make_optimizer(list(net.parameters()), self._optimizer_settings(name, defaults))
            for name, net in self.nets.items()
            if any(True for _ in net.parameters()) and name not in train.freeze
        }
        self._base_lr = {name: [g["lr"] for g in opt.param_groups] for name, opt in self.optimizers.items()}
        self._params: dict[tuple[str, ...], list[nn.Parameter]] = {}
        self._frozen = frozenset(train.freeze)
        self.step = 0
        self.optimizer_steps: collections.Counter[str] = collections.Counter()  # net -> optimiser steps so far
        self.train_seconds = 0.0
        self.monitor: Monitor | None = None  # live warnings, while fit runs (rank 0)
        self.record_meta: dict[str, Any] | None = None  # benchmark/label/point of record.json (compare sets it)
        self._wall_origin: tuple[float, float] | None = None  # (clock, seconds before it): the record's wall time
        self._built_at = time.perf_counter()

    def _optimizer_settings(self, net: str, defaults: dict[str, Any]) -> dict[str, Any]:
        """``train``'s optimiser, the method's overrides for ``net``, ``train.net_optimizers[net]``,
        its lr scaled by ``train.lr_scale[net]`` where the table sets one (for every row), else
        by the method's own ``lr_scale``."""
        settings = {**defaults, **self.method.optimizer_overrides(net)}
        train = self.config.train
        if net in train.net_optimizers:
            settings["optimizer"] = train.net_optimizers[net]
        scale = train.lr_scale[net] if net in train.lr_scale else self.method.lr_scale(net)
        return {**settings, "lr": settings["lr"] * scale}

    def training_setup(self) -> dict[str, dict[str, Any]]:
        """What each net trained with: optimiser, learning rate, initialisation and optimiser
        steps per training step (G updates per D update, n_critic, stage 1 without G...)."""
        init = run_init(self.config.model.params, self.config.method.params)  # as __init__ applied it
        out = {}
        for name, opt in self.optimizers.items():
            settings = self._optimizer_settings(name, {"optimizer": self.config.train.optimizer,
                                                       "lr": self.config.train.lr, "betas": self.config.train.betas})
            out[name] = {"optimizer": settings["optimizer"], "lr": settings["lr"], "init": init,
                         "updates_per_step": self.optimizer_steps[name] / max(self.step, 1)}
        return out

    def _warm_start(self, source: str, names: list[str] | None) -> None:
        """``train.init_from``: copy nets' weights from a checkpoint (a file or a run directory)."""
        path = Path(source)
        path = RunPaths(path).checkpoint if path.is_dir() else path
        if not path.is_file():
            raise ConfigError(f"train.init_from: {source} is neither a checkpoint file nor a run directory "
                                    "with checkpoints/last.pt")
        saved = load_checkpoint(path)["nets"]
        wanted = names if names is not None else [n for n in self.nets if n in saved]
        missing = [n for n in wanted if n not in saved]
        if missing or not wanted:
            raise ConfigError(f"train.init_from: {path} holds the nets {sorted(saved)}, not {missing or 'any of this method'}"
                             "; set train.init_nets to those to copy")
        for name in wanted:
            try:
                self.nets[name].load_state_dict(saved[name])
            except RuntimeError as err:  # another architecture: name the net and the fix
                raise ConfigError(f"train.init_from: net {name!r} of {path} does not fit this run's {name} "
                                 f"(same model section needed): {str(err).splitlines()[0]}") from None

    def _add_instance_noise(self) -> None:
        """``train.instance_noise``: a forward pre-hook adds the annealed noise to the input of
        each data-space discriminator (on its ``features`` when it has them, so that methods
        reading D's features directly get noisy inputs too), in training mode only."""
        cfg = self.config.train

        def hook(module: nn.Module, args: tuple) -> tuple | None:
            std = linear_anneal(self.step, cfg.instance_noise, cfg.instance_noise_steps)
            if not module.training or std <= 0:
                return None
            return (add_instance_noise(args[0], std), *args[1:])

        for name in self.method.data_discriminators:
            net = self.nets[name]
            target = net.features if isinstance(getattr(net, "features", None), nn.Module) else net
            # under train.compile, outside the compiled graph: traced, the noise level (a Python number
            # that changes every step) would recompile the net every step; eager, the noise is drawn
            # exactly as without compile
            target.register_forward_pre_hook(torch.compiler.disable(hook) if cfg.compile else hook)

    # -- state ------------------------------------------------------------------------------
    def _rank_state(self) -> dict[str, Any]:
        """What differs between ranks: RNG streams, the data sampler, the method's state."""
        return {"method": self.method.state_dict(), "data": self.data.state_dict(), "rng": capture_rng()}

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint. Under torchrun every rank must call it (it gathers each rank's
        ``_rank_state`` into ``ranks``, so that a resume on as many ranks is exact)."""
        own = self._rank_state()
        state = {
            "step": self.step,
            "train_seconds": self.train_seconds,
            "optimizer_steps": dict(self.optimizer_steps),
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            **own,
            "config": self.config.to_dict(),
        }
        if self.dist.active:
            state["ranks"] = self.dist.gather(own)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint; one that does not fit this run (missing entries, other shapes,
        non-finite weights) is a ``CheckpointError`` naming what is wrong."""
        try:
            self._load_state_dict(state)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise CheckpointError(f"{self.paths.checkpoint}: does not fit this run's config "
                                  f"({type(err).__name__}: {reason})") from None

    def _load_state_dict(self, state: dict[str, Any]) -> None:
        for name, net in self.nets.items():
            weights = state["nets"][name]
            bad = [key for key, t in weights.items() if t.is_floating_point() and not torch.isfinite(t).all()]
            if bad:
                raise CheckpointError(f"{self.paths.checkpoint}: net {name!r} holds non-finite weights ({bad[0]}); "
                                      "a run that diverged keeps its last good checkpoint, this one is damaged")
            net.load_state_dict(weights)
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        own = self._saved_rank_state(state)
        self.method.load_state_dict(own["method"])
        if "rng" in own:  # a rank without its own saved streams keeps its fresh ones
            self.data.load_state_dict(own["data"])
            restore_rng(own["rng"])
        self.step = int(state["step"])
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.optimizer_steps = collections.Counter({str(k): int(v) for k, v in state.get("optimizer_steps", {}).items()})

    def _saved_rank_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """This rank's part of a checkpoint: its own entry of ``ranks`` when the checkpoint
        was written by as many ranks; otherwise rank 0's state on rank 0 (exact for a
        single process), and on other ranks rank 0's method state only, with a warning."""
        ranks = state.get("ranks") or [state]
        if len(ranks) == self.dist.world_size:
            return ranks[self.dist.rank]
        if self.dist.is_main:
            warnings.warn(f"checkpoint written by {len(ranks)} rank(s), resumed on {self.dist.world_size}: "
                          "training continues, but not exactly as the original run would have", stacklevel=3)
        return ranks[0] if self.dist.is_main else {"method": ranks[0]["method"]}

    def save(self) -> None:
        """Write the checkpoint (rank 0). Under torchrun every rank must call it."""
        state = self.state_dict()
        if self.dist.is_main:
            save_checkpoint(self.paths.checkpoint, state)

    def apply_lr_schedule(self) -> None:
        """Set every optimiser's learning rate for ``self.step`` (train.lr_decay)."""
        cfg = self.config.train
        if cfg.lr_decay == "none":
            return
        factor = lr_factor(self.step, cfg.steps, cfg.lr_decay, cfg.lr_decay_start)
        self.method.lr_factor = factor  # for methods that mirror an optimiser's rule (unrolled GAN)
        for name, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self._base_lr[name]):
                group["lr"] = base * factor

    # -- one step -----------------------------------------------------------------------------
    def _autocast(self):
        if self.config.train.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _params_of(self, updates: tuple[str, ...]) -> list[nn.Parameter]:
        if updates not in self._params:
            self._params[updates] = [p for name in updates for p in self.nets[name].parameters()]
        return self._params[updates]

    def run_phase(self, phase: Phase, batch: Batch, scratch: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Sum the phase's terms, back-propagate into its nets only, step their optimisers."""
        with self._autocast():
            terms = phase.terms(self.forward_nets, batch, scratch)
        values = iter(terms.values())
        total = next(values)
        for term in values:
            total = total + term
        per_term = self._term_grad_norms(terms, phase.updates) if self.config.train.grad_per_term else {}
        for name in phase.updates:
            self.optimizers[name].zero_grad(set_to_none=True)
        total.backward(inputs=self._params_of(phase.updates))
        self.dist.average_gradients(self._params_of(phase.updates))
        norms = {}
        for name in phase.updates:
            norms[name] = _total_grad_norm(self._params_of((name,)), self.device)
            self.optimizers[name].step()
            self.optimizer_steps[name] += 1
        if phase.after_step is not None:
            with torch.no_grad():
                phase.after_step(self.nets)
        return terms, {**norms, **per_term}

    def _term_grad_norms(self, terms: dict[str, torch.Tensor], updates: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """``train.grad_per_term``: ||d term / d params||_2 over the phase's nets, for each
        term of a phase with several (e.g. the adversarial vs the reconstruction gradient)."""
        if len(terms) < 2:
            return {}
        params = self._params_of(updates)
        out = {}
        for name, term in terms.items():
            grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
            out[f"term/{name}"] = _norm([g for g in grads if g is not None], self.device)
        return out

    def train_step(self) -> tuple[tuple[str, ...], list[torch.Tensor]]:
        """One step of the method: every phase in order. Returns the step's named scalars."""
        if self._graph_steps:  # a new training iteration for CUDA graph trees: last step's outputs may be reused
            torch.compiler.cudagraph_mark_step_begin()
        self.apply_lr_schedule()
        scratch: dict[str, Any] = {}
        names: list[str] = []
        values: list[torch.Tensor] = []
        batch = None
        for phase in self.method.step_phases(self.step):
            if self._frozen:
                phase = dataclasses.replace(phase, updates=tuple(n for n in phase.updates if n not in self._frozen))
                if not phase.updates:
                    continue
            if batch is None or phase.fresh_batch:
                batch = self.data.training_batch(self._batch_samples)  # in data.range
            terms, norms = self.run_phase(phase, batch, scratch)
            names += [f"loss/{phase.name}/{k}" for k in terms] + [f"grad/{phase.name}/{k}" for k in norms]
            values += list(terms.values()) + list(norms.values())
        for key, value in scratch.get("diagnostics", {}).items():
            names.append(f"diag/{key}")
            values.append(value)
        train = self.config.train
        if train.instance_noise > 0:
            names.append("diag/instance_noise_std")
            values.append(torch.tensor(linear_anneal(self.step, train.instance_noise, train.instance_noise_steps)))
        self.step += 1
        return tuple(names), values

    # -- the loop -----------------------------------------------------------------------------
    def fit(self, progress: bool = True) -> dict[str, Any]:
        """Train to ``train.steps``, then evaluate; resumes from ``self.step``.

        Under torchrun every rank trains; only rank 0 writes files."""
        with self._lock():
            self._wall_origin = (time.perf_counter(), self.train_seconds)
            try:
                return self._fit(progress)
            except DivergenceError as err:
                if self.dist.is_main:
                    self.write_record("diverged", str(err))
                raise

    def _lock(self):
        """The run directory's lock (rank 0 holds it; see ``aegan.runlock``)."""
        return run_lock(self.paths.root) if self.dist.is_main else contextlib.nullcontext()

    def _fit(self, progress: bool) -> dict[str, Any]:
        cfg = self.config.train
        main = self.dist.is_main
        if main:
            from aegan.metrics.fid_stats import check_reference_sizes

            atomic_write_text(self.paths.config, yaml.safe_dump(self.config.to_dict(), sort_keys=False))
            check_reference_sizes(self.config, self.data)  # a reference set above the data's size: said now
        log = ScalarLog(self.paths.root, cfg.tensorboard, self.step, cfg.tensorboard_every) if main else NullLog()
        self.monitor = self._replayed_monitor() if main else None
        snaps = snapshot_steps(cfg.steps, cfg.snapshots)
        every = self.config.eval.every if self.config.eval.metrics else 0
        if main:
            truncate_after(self.paths.eval_log, self.step)
        bar = tqdm(total=cfg.steps, initial=self.step, disable=progress_disable(progress and main),
                   desc=self.config.method.name, unit="step", dynamic_ncols=True)
        self.nets.train()
        try:
            while self.step < cfg.steps:
                started = time.perf_counter()  # the timed loop body: step + logging, not saves
                names, values = self.train_step()
                log.add(self.step, names, values)
                checkpoint_due = self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps
                if self.step % cfg.log_every == 0 or checkpoint_due:
                    for step, row in log.flush():
                        self.monitor.observe(step, row)
                    bar.update(self.step - bar.n)
                    bar.set_postfix({k.split("/", 1)[1]: f"{v:.3g}" for k, v in log.latest.items() if k.startswith("loss/")},
                                    refresh=False)
                self.train_seconds += time.perf_counter() - started
                if main and self.step in snaps:
                    self.save_snapshot()
                if main and every and self.step % every == 0 and self.step < cfg.steps:
                    self.evaluate_during(log)
                if checkpoint_due:
                    self.save()  # every rank: the checkpoint gathers each rank's RNG state
        finally:
            bar.close()
            log.close()
        self.dist.barrier()
        return self.finish() if main else {}

    def finish(self) -> dict[str, Any]:
        from aegan.plots import snapshot_figure

        snapshot_figure(self)
        if self.config.eval.metrics:
            return self.evaluate()
        self.write_record("ok")
        return {}

    def write_record(self, status: str, reason: str | None = None, result: dict[str, Any] | None = None) -> None:
        """Write record.json (aegan.results.records): the run's result as data, evaluated or diverged."""
        from aegan.results import records

        meta = self.record_meta
        if meta is None:  # keep what compare wrote (a re-evaluation), else the run's own names
            meta = records.read_record(self.paths.record) or {}
        if result is None and self.monitor is not None:
            meta = {**meta, "warnings": self.monitor.warnings, "data_protocol": self.data.describe(),
                    "peak_memory_mb": peak_memory_mb(self.device)}
        meta = {**meta, "training": self.training_setup(), "data_shape": list(self.data.shape)}
        clock, before = self._wall_origin or (self._built_at, self.train_seconds)  # fit, else eval alone
        record = records.build_record(self.paths.root, self.config.to_dict(), status=status, reason=reason,
                                      step=self.step, meta=meta, result=result, train_seconds=self.train_seconds,
                                      wall_seconds=before + time.perf_counter() - clock, device=self.device)
        records.write_record(self.paths.record, record)

    # -- sampling and evaluation -----------------------------------------------------------------
    @torch.no_grad()
    def generate(self, n: int, seed: int, chunk: int = 4096) -> torch.Tensor:
        """n samples from the prior on the CPU, with a sampler independent of training RNG; images
        in [0, 1] whatever ``data.range`` (``to_unit``): what metrics, snapshots and grids see."""
        rng = torch.Generator(device=self.device).manual_seed(seed)
        was_training = self.nets.training
        self.nets.eval()
        out = []
        like = torch.empty(0, device=self.device)
        for start in range(0, n, chunk):
            z = self.method.prior(min(chunk, n - start), like, generator=rng)
            out.append(self.data.to_unit(self.method.generate(self.nets, z).float().cpu()))  # [0, 1] for metrics
        self.nets.train(was_training)
        return torch.cat(out) if out else torch.empty(0, *self.data.shape)

    def save_snapshot(self) -> None:
        n = 1000 if len(self.data.shape) == 1 else 64
        samples = self.generate(n, self.config.eval.seed).numpy()
        atomic_write(self.paths.samples / f"step_{self.step:07d}.npy", lambda f: np.save(f, samples))
        if self.monitor is not None:
            self.monitor.observe_snapshot(self.step, samples)

    def run_name(self) -> str:
        """"nsgan on ring8, seed 0": the row (a variant or grid point of ``aegan compare`` with
        its method), the benchmark (the config's name under compare, else the dataset's), the seed."""
        meta, method = self.record_meta or {}, self.config.method.name
        label = meta.get("label") or method
        row = label if label == method else f"{label} ({method})"
        return f"{row} on {meta.get('benchmark') or self.config.data.name}, seed {self.config.train.seed}"

    def _replayed_monitor(self) -> Monitor:
        """A ``Monitor`` fed with what this run logged and snapshotted up to ``self.step`` (quietly)."""
        monitor = Monitor(self.data, say=lambda line: tqdm.write(line, file=sys.stderr), run=self.run_name())
        rows = []
        if self.paths.log.is_file():
            for line in self.paths.log.read_text(errors="replace").splitlines():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
        snapshots = {int(p.stem[5:]): p for p in self.paths.samples.glob("step_*.npy")}
        for row in rows:
            step = row.pop("step", None)
            if isinstance(step, int) and step <= self.step:
                monitor.observe(step, row, quiet=True)
                if step in snapshots:
                    monitor.observe_snapshot(step, np.load(snapshots[step]), quiet=True)
        return monitor

    def evaluate_during(self, log: ScalarLog | NullLog) -> dict[str, float]:
        """The metrics at this step of training (``eval.every``), on ``eval.every_n_samples``
        samples: a line of eval.jsonl and TensorBoard scalars eval/<metric>. Every global RNG
        is restored afterwards, so the training is the same with or without these evaluations."""
        ev = self.config.eval
        for step, row in log.flush():  # the log on disk reaches this step (the dynamics metric reads it)
            self.monitor.observe(step, row)
        state = capture_rng()
        try:
            metrics = evaluate(self._eval_context(ev.every_n_samples or ev.n_samples), ev.metrics, ev.params)
        finally:
            restore_rng(state)
        # with the training seconds so far: the budget curves' wall time (aegan.results.budget)
        append_line(self.paths.eval_log, {"step": self.step, EVAL_TIME: round(self.train_seconds, 3), **metrics})
        if getattr(log, "writer", None) is not None:
            for key, value in metrics.items():
                if value is not None and np.isfinite(value):
                    log.writer.add_scalar(f"eval/{key}", value, self.step)
        return metrics

    def evaluate(self) -> dict[str, Any]:
        """Compute ``eval.metrics`` and write metrics.json (under the run directory's lock)."""
        with self._lock():
            return self._evaluate()

    def _eval_context(self, n_samples: int) -> EvalContext:
        """What the metrics see: samples from the prior by the evaluation seed, the data, this run's
        device, its logged steps and a fresh discriminator of its model family."""
        from aegan.results.records import read_log

        seed = self.config.eval.seed
        return EvalContext(lambda n: self.generate(n, seed), self.data, n_samples, seed, device=str(self.device),
                           log_rows=lambda: read_log(self.paths.log), discriminator=self.factory.discriminator)

    def _evaluate(self) -> dict[str, Any]:
        from aegan.results.records import best_over_training, read_log

        ctx = self._eval_context(self.config.eval.n_samples)
        result = {
            "method": self.config.method.name,
            "seed": self.config.train.seed,
            "step": self.step,
            "protocol": self.data.describe(),
            "time_per_step_ms": 1000 * self.train_seconds / max(self.step, 1),
            "peak_memory_mb": peak_memory_mb(self.device),
            "warnings": (self.monitor or self._replayed_monitor()).warnings,
            "metric_params": resolved_params(self.config.eval.metrics, self.config.eval.params),
            "training": self.training_setup(),
            "metrics": {**evaluate(ctx, self.config.eval.metrics, self.config.eval.params),
                        **{f"method/{k}": v for k, v in self.method.final_metrics().items()}},
        }
        # the best value over training beside the final one (003 Tables 3, 6: the best FID, its step)
        result["metrics"].update(best_over_training(read_log(self.paths.eval_log), result["metrics"], self.step))
        atomic_write_json(self.paths.metrics, result)
        self.write_record("ok", result=result)
        return result


def peak_memory_mb(device: torch.device) -> dict[str, float]:
    """The process's peak resident memory (CPU) and, on a GPU, the most memory torch allocated."""
    peak: dict[str, float] = {}
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        peak["cpu_rss"] = rss / (2**20 if sys.platform == "darwin" else 2**10)
    except ImportError:  # Windows
        pass
    if device.type == "cuda":
        peak["cuda_max_allocated"] = torch.cuda.max_memory_allocated(device) / 2**20
    return peak


def open_run(run_dir: str | Path, overrides: dict[str, Any] | None = None) -> Trainer:
    """Rebuild a run from its directory and restore its last checkpoint."""
    from aegan.config import apply_overrides, read_yaml

    paths = RunPaths(run_dir)
    if not paths.config.is_file():
        from aegan.config import ConfigError

        raise ConfigError(f"{paths.root}: not a run directory (no config.yaml); pass the directory `aegan train` wrote")
    saved = build_config(read_yaml(paths.config))
    config = build_config(apply_overrides(read_yaml(paths.config), overrides or {}))
    trainer = Trainer(config, run_dir)
    trainer.load_state_dict(load_checkpoint(paths.checkpoint))
    check_schedule_unchanged(saved.train, config.train, trainer.step)
    return trainer


def check_schedule_unchanged(saved, wanted, done: int) -> None:
    """Refuse a new step budget that would have given the ``done`` steps other learning rates.

    With ``lr_decay: linear`` the decay starts at a fraction of ``train.steps``, so a longer
    budget is exact only while the run has not yet reached either schedule's decay."""
    from aegan.config import ConfigError

    if saved.steps == wanted.steps or saved.lr_decay == "none":
        return
    if any(lr_factor(s, saved.steps, saved.lr_decay, saved.lr_decay_start)
           != lr_factor(s, wanted.steps, wanted.lr_decay, wanted.lr_decay_start) for s in range(done)):
        raise ConfigError(
            f"train.steps {saved.steps} -> {wanted.steps}: the run is at step {done}, past the start of its "
            f"learning-rate decay (train.lr_decay: {saved.lr_decay}), so continuing would not equal a run trained for "
            f"{wanted.steps} steps from the start; train a new run (another --out or run directory)")
