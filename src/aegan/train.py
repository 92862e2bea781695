"""THE training loop: the only place that calls zero_grad, backward and step.

``Trainer`` builds a run from a ``RunConfig`` (dataset, method, networks, optimisers),
runs the method's phases step after step, logs every loss term, gradient norm and
diagnostic, saves atomic checkpoints holding everything needed to resume exactly, takes
sample snapshots for the figures, and evaluates the configured metrics at the end. What is
not the loop itself lives in ``aegan.training`` (state, compile, warm start, evaluation, outputs).
"""

from __future__ import annotations

import collections
import contextlib
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aegan import distributed
from aegan.checkpoint import atomic_write, load_checkpoint
from aegan.config import RunConfig, build_config
from aegan.data import DataSource, build_dataset
from aegan.methods import METHODS, Batch, Phase
from aegan.methods.base import build_method_nets
from aegan.monitor import Monitor
from aegan.nets import build_factory
from aegan.nets.init import run_init
from aegan.runlock import run_lock
from aegan.runlog import DivergenceError, NullLog, ScalarLog
from aegan.training import evaluation, state
from aegan.training.compiled import autocast, compiled_nets, mark_step_begin, resolve_device
from aegan.training.evaluation import peak_memory_mb
from aegan.training.optim import (apply_lr_schedule, build_optimizers, lr_factor, make_optimizer, optimizer_settings,
                                  term_grad_norms, total_grad_norm)
from aegan.training.outputs import LoopOutputs, snapshot_steps
from aegan.training.state import RunPaths, check_schedule_unchanged
from aegan.training.warm_start import add_instance_noise_hooks, instance_noise_std, warm_start, without_frozen

__all__ = ["Trainer", "open_run", "RunPaths", "check_schedule_unchanged", "compiled_nets", "lr_factor",
           "make_optimizer", "peak_memory_mb", "resolve_device", "snapshot_steps"]


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
            warm_start(self.nets, train.init_from, train.init_nets)
        if train.instance_noise > 0:
            add_instance_noise_hooks(self.nets, self.method.data_discriminators, train, lambda: self.step)
        self.forward_nets = compiled_nets(self.nets, train.compile, self.device, retain_graph=train.grad_per_term)
        self._batch_samples = self.method.batch_samples(train.batch_size)  # x pack where the batch counts packs
        self.optimizers = build_optimizers(self)
        self.base_lr = {name: [g["lr"] for g in opt.param_groups] for name, opt in self.optimizers.items()}
        self._params: dict[tuple[str, ...], list[nn.Parameter]] = {}
        self._frozen = frozenset(train.freeze)
        self.step = 0
        self.optimizer_steps: collections.Counter[str] = collections.Counter()  # net -> optimiser steps so far
        self.train_seconds = 0.0
        self.train_cpu_seconds = 0.0  # the process's CPU time in the same loop body (all its threads)
        self.monitor: Monitor | None = None  # live warnings, while fit runs (rank 0)
        self.record_meta: dict[str, Any] | None = None  # benchmark/label/point of record.json (compare sets it)
        self._wall_origin: tuple[float, float] | None = None  # (clock, seconds before it): the record's wall time
        self._built_at = time.perf_counter()

    # -- the loop -----------------------------------------------------------------------------
    def fit(self, progress: bool = True) -> dict[str, Any]:
        """Train to ``train.steps``, then evaluate; resumes from ``self.step``.

        Under torchrun every rank trains; only rank 0 writes files."""
        cfg = self.config.train
        with self._lock(), self._recording_divergence():
            with LoopOutputs(self, progress) as out:  # log.jsonl, live warnings, progress bar (rank 0)
                self.nets.train()
                while self.step < cfg.steps:
                    started, cpu_started = time.perf_counter(), time.process_time()  # the timed loop body: step + logging, not saves
                    names, values = self.train_step()
                    checkpoint_due = self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps
                    out.log_step(self.step, names, values, flush=self.step % cfg.log_every == 0 or checkpoint_due)
                    self.train_seconds += time.perf_counter() - started
                    self.train_cpu_seconds += time.process_time() - cpu_started
                    out.snapshot_and_evaluate()  # train.snapshots, eval.every (rank 0)
                    if checkpoint_due:
                        self.save()  # every rank: the checkpoint gathers each rank's RNG state
            self.dist.barrier()
            return self.finish() if self.dist.is_main else {}

    def train_step(self) -> tuple[tuple[str, ...], list[torch.Tensor]]:
        """One step of the method: every phase in order. Returns the step's named scalars."""
        mark_step_begin(self.config.train.compile)
        self.apply_lr_schedule()
        scratch: dict[str, Any] = {}
        names: list[str] = []
        values: list[torch.Tensor] = []
        batch = None
        for phase in self.method.step_phases(self.step):
            phase = without_frozen(phase, self._frozen)  # train.freeze
            if phase is None:
                continue
            if batch is None or phase.fresh_batch:
                batch = self.data.training_batch(self._batch_samples)  # in data.range
            terms, norms = self.run_phase(phase, batch, scratch)
            names += [f"loss/{phase.name}/{k}" for k in terms] + [f"grad/{phase.name}/{k}" for k in norms]
            values += list(terms.values()) + list(norms.values())
        for key, value in scratch.get("diagnostics", {}).items():
            names.append(f"diag/{key}")
            values.append(value)
        if self.config.train.instance_noise > 0:
            names.append("diag/instance_noise_std")
            values.append(torch.tensor(instance_noise_std(self.step, self.config.train)))
        self.step += 1
        return tuple(names), values

    def run_phase(self, phase: Phase, batch: Batch, scratch: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Sum the phase's terms, back-propagate into its nets only, step their optimisers."""
        with autocast(self.config.train.amp, self.device):
            terms = phase.terms(self.forward_nets, batch, scratch)
        values = iter(terms.values())
        total = next(values)
        for term in values:
            total = total + term
        params = self._params_of(phase.updates)
        per_term = term_grad_norms(terms, params, self.device) if self.config.train.grad_per_term else {}
        for name in phase.updates:
            self.optimizers[name].zero_grad(set_to_none=True)
        total.backward(inputs=params)
        self.dist.average_gradients(params)
        norms = {}
        for name in phase.updates:
            norms[name] = total_grad_norm(self._params_of((name,)), self.device)
            self.optimizers[name].step()
            self.optimizer_steps[name] += 1
        if phase.after_step is not None:
            with torch.no_grad():
                phase.after_step(self.nets)
        return terms, {**norms, **per_term}

    def _params_of(self, updates: tuple[str, ...]) -> list[nn.Parameter]:
        if updates not in self._params:
            self._params[updates] = [p for name in updates for p in self.nets[name].parameters()]
        return self._params[updates]

    def apply_lr_schedule(self) -> None:
        """Set every optimiser's learning rate for ``self.step`` (train.lr_decay)."""
        apply_lr_schedule(self)

    def _lock(self):
        """The run directory's lock (rank 0 holds it; see ``aegan.runlock``)."""
        return run_lock(self.paths.root) if self.dist.is_main else contextlib.nullcontext()

    @contextlib.contextmanager
    def _recording_divergence(self):
        """Time the run from here (the record's wall time); a divergence is written to record.json (rank 0)."""
        self._wall_origin = (time.perf_counter(), self.train_seconds)
        try:
            yield
        except DivergenceError as err:
            if self.dist.is_main:
                self.write_record("diverged", str(err))
            raise

    def finish(self) -> dict[str, Any]:
        from aegan.plots import snapshot_figure

        snapshot_figure(self)
        if self.config.eval.metrics:
            return self.evaluate()
        self.write_record("ok")
        return {}

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The checkpoint (``aegan.training.state``); under torchrun every rank must call it."""
        return state.state_dict(self)

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore a checkpoint; one that does not fit this run is a ``CheckpointError``."""
        state.load_state_dict(self, saved)

    def save(self) -> None:
        """Write the checkpoint (rank 0). Under torchrun every rank must call it."""
        state.save(self)

    def training_setup(self) -> dict[str, dict[str, Any]]:
        """What each net trained with: optimiser, learning rate, initialisation and optimiser
        steps per training step (G updates per D update, n_critic, stage 1 without G...)."""
        init = run_init(self.config.model.params, self.config.method.params)  # as __init__ applied it
        out = {}
        for name in self.optimizers:
            settings = optimizer_settings(self, name)
            out[name] = {"optimizer": settings["optimizer"], "lr": settings["lr"], "init": init,
                         "updates_per_step": self.optimizer_steps[name] / max(self.step, 1)}
        return out

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
                                      train_cpu_seconds=self.train_cpu_seconds,
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

    def evaluate_during(self, log: ScalarLog | NullLog) -> dict[str, float]:
        """The metrics at this step (``eval.every``): ``aegan.training.evaluation.evaluate_during``."""
        return evaluation.evaluate_during(self, log)

    def evaluate(self) -> dict[str, Any]:
        """Compute ``eval.metrics`` and write metrics.json (under the run directory's lock)."""
        with self._lock():
            return evaluation.final_evaluation(self)

    def _eval_context(self, n_samples: int):
        return evaluation.eval_context(self, n_samples)


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
