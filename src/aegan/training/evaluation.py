"""Evaluation: the metrics during training (``eval.every``) and at the end (metrics.json), with
the best value over training beside the final one; the run's live warnings replayed on resume."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from aegan.checkpoint import atomic_write_json, capture_rng, restore_rng
from aegan.metrics import EvalContext, evaluate, resolved_params
from aegan.monitor import Monitor
from aegan.results.records import EVAL_TIME, best_over_training, read_log
from aegan.runlog import NullLog, ScalarLog, append_line

Trainer = Any  # aegan.train.Trainer, which passes itself in (not imported: aegan.train imports this module)


def evaluation_due(trainer: Trainer) -> bool:
    """Whether ``eval.every`` asks for the metrics at this step (not the last: the end evaluates)."""
    every = trainer.config.eval.every if trainer.config.eval.metrics else 0
    return bool(every) and trainer.step % every == 0 and trainer.step < trainer.config.train.steps


def eval_context(trainer: Trainer, n_samples: int) -> EvalContext:
    """What the metrics see: samples from the prior by the evaluation seed, the data, this run's
    device, its logged steps and a fresh discriminator of its model family."""
    seed = trainer.config.eval.seed
    return EvalContext(lambda n: trainer.generate(n, seed), trainer.data, n_samples, seed, device=str(trainer.device),
                       log_rows=lambda: read_log(trainer.paths.log), discriminator=trainer.factory.discriminator)


def evaluate_during(trainer: Trainer, log: ScalarLog | NullLog) -> dict[str, float]:
    """The metrics at this step of training (``eval.every``), on ``eval.every_n_samples``
    samples: a line of eval.jsonl and TensorBoard scalars eval/<metric>. Every global RNG
    is restored afterwards, so the training is the same with or without these evaluations."""
    ev = trainer.config.eval
    for step, row in log.flush():  # the log on disk reaches this step (the dynamics metric reads it)
        trainer.monitor.observe(step, row)
    state = capture_rng()
    try:
        metrics = evaluate(eval_context(trainer, ev.every_n_samples or ev.n_samples), ev.metrics, ev.params)
    finally:
        restore_rng(state)
    # with the training seconds so far: the budget curves' wall time (aegan.results.budget)
    append_line(trainer.paths.eval_log, {"step": trainer.step, EVAL_TIME: round(trainer.train_seconds, 3), **metrics})
    if getattr(log, "writer", None) is not None:
        for key, value in metrics.items():
            if value is not None and np.isfinite(value):
                log.writer.add_scalar(f"eval/{key}", value, trainer.step)
    return metrics


def final_evaluation(trainer: Trainer) -> dict[str, Any]:
    """``eval.metrics`` on ``eval.n_samples`` samples, with what the run was: metrics.json and
    the record (aegan.results.records)."""
    config = trainer.config
    ctx = eval_context(trainer, config.eval.n_samples)
    result = {
        "method": config.method.name,
        "seed": config.train.seed,
        "step": trainer.step,
        "protocol": trainer.data.describe(),
        "time_per_step_ms": 1000 * trainer.train_seconds / max(trainer.step, 1),
        "peak_memory_mb": peak_memory_mb(trainer.device),
        "warnings": (trainer.monitor or replayed_monitor(trainer)).warnings,
        "metric_params": resolved_params(config.eval.metrics, config.eval.params),
        "training": trainer.training_setup(),
        "metrics": {**evaluate(ctx, config.eval.metrics, config.eval.params),
                    **{f"method/{k}": v for k, v in trainer.method.final_metrics().items()}},
    }
    # the best value over training beside the final one (003 Tables 3, 6: the best FID, its step)
    result["metrics"].update(best_over_training(read_log(trainer.paths.eval_log), result["metrics"], trainer.step))
    atomic_write_json(trainer.paths.metrics, result)
    trainer.write_record("ok", result=result)
    return result


def replayed_monitor(trainer: Trainer) -> Monitor:
    """A ``Monitor`` fed with what this run logged and snapshotted up to ``trainer.step`` (quietly)."""
    monitor = Monitor(trainer.data, say=lambda line: tqdm.write(line, file=sys.stderr), run=trainer.run_name())
    snapshots = {int(p.stem[5:]): p for p in trainer.paths.samples.glob("step_*.npy")}
    for row in read_log(trainer.paths.log):
        step = row.pop("step", None)
        if isinstance(step, int) and step <= trainer.step:
            monitor.observe(step, row, quiet=True)
            if step in snapshots:
                monitor.observe_snapshot(step, np.load(snapshots[step]), quiet=True)
    return monitor


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
