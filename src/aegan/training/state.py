"""Run state: the run directory's layout, the checkpoint (save, exact resume), per-rank RNG state."""

from __future__ import annotations

import collections
import warnings
from pathlib import Path
from typing import Any

import torch

from aegan.checkpoint import CheckpointError, capture_rng, restore_rng, save_checkpoint
from aegan.config import ConfigError
from aegan.training.optim import lr_factor

Trainer = Any  # aegan.train.Trainer, which passes itself in (not imported: aegan.train imports this module)


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


def rank_state(trainer: Trainer) -> dict[str, Any]:
    """What differs between ranks: RNG streams, the data sampler, the method's state."""
    return {"method": trainer.method.state_dict(), "data": trainer.data.state_dict(), "rng": capture_rng()}


def state_dict(trainer: Trainer) -> dict[str, Any]:
    """The checkpoint. Under torchrun every rank must call it (it gathers each rank's
    ``rank_state`` into ``ranks``, so that a resume on as many ranks is exact)."""
    own = rank_state(trainer)
    state = {
        "step": trainer.step,
        "train_seconds": trainer.train_seconds,
        "train_cpu_seconds": trainer.train_cpu_seconds,
        "optimizer_steps": dict(trainer.optimizer_steps),
        "nets": {k: v.state_dict() for k, v in trainer.nets.items()},
        "optimizers": {k: v.state_dict() for k, v in trainer.optimizers.items()},
        **own,
        "config": trainer.config.to_dict(),
    }
    if trainer.dist.active:
        state["ranks"] = trainer.dist.gather(own)
    return state


def save(trainer: Trainer) -> None:
    """Write the checkpoint (rank 0). Under torchrun every rank must call it."""
    state = state_dict(trainer)
    if trainer.dist.is_main:
        save_checkpoint(trainer.paths.checkpoint, state)


def load_state_dict(trainer: Trainer, state: dict[str, Any]) -> None:
    """Restore a checkpoint; one that does not fit this run (missing entries, other shapes,
    non-finite weights) is a ``CheckpointError`` naming what is wrong."""
    try:
        _load_state_dict(trainer, state)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"{trainer.paths.checkpoint}: does not fit this run's config "
                              f"({type(err).__name__}: {reason})") from None


def _load_state_dict(trainer: Trainer, state: dict[str, Any]) -> None:
    for name, net in trainer.nets.items():
        weights = state["nets"][name]
        bad = [key for key, t in weights.items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if bad:
            raise CheckpointError(f"{trainer.paths.checkpoint}: net {name!r} holds non-finite weights ({bad[0]}); "
                                  "a run that diverged keeps its last good checkpoint, this one is damaged")
        net.load_state_dict(weights)
    for name, opt in trainer.optimizers.items():
        opt.load_state_dict(state["optimizers"][name])
    own = _saved_rank_state(trainer, state)
    trainer.method.load_state_dict(own["method"])
    if "rng" in own:  # a rank without its own saved streams keeps its fresh ones
        trainer.data.load_state_dict(own["data"])
        restore_rng(own["rng"])
    trainer.step = int(state["step"])
    trainer.train_seconds = float(state.get("train_seconds", 0.0))
    trainer.train_cpu_seconds = float(state.get("train_cpu_seconds", 0.0))
    trainer.optimizer_steps = collections.Counter({str(k): int(v) for k, v in state.get("optimizer_steps", {}).items()})


def _saved_rank_state(trainer: Trainer, state: dict[str, Any]) -> dict[str, Any]:
    """This rank's part of a checkpoint: its own entry of ``ranks`` when the checkpoint
    was written by as many ranks; otherwise rank 0's state on rank 0 (exact for a
    single process), and on other ranks rank 0's method state only, with a warning."""
    dist = trainer.dist
    ranks = state.get("ranks") or [state]
    if len(ranks) == dist.world_size:
        return ranks[dist.rank]
    if dist.is_main:
        warnings.warn(f"checkpoint written by {len(ranks)} rank(s), resumed on {dist.world_size}: "
                      "training continues, but not exactly as the original run would have", stacklevel=5)
    return ranks[0] if dist.is_main else {"method": ranks[0]["method"]}


def check_schedule_unchanged(saved, wanted, done: int) -> None:
    """Refuse a new step budget that would have given the ``done`` steps other learning rates.

    With ``lr_decay: linear`` the decay starts at a fraction of ``train.steps``, so a longer
    budget is exact only while the run has not yet reached either schedule's decay."""
    if saved.steps == wanted.steps or saved.lr_decay == "none":
        return
    if any(lr_factor(s, saved.steps, saved.lr_decay, saved.lr_decay_start)
           != lr_factor(s, wanted.steps, wanted.lr_decay, wanted.lr_decay_start) for s in range(done)):
        raise ConfigError(
            f"train.steps {saved.steps} -> {wanted.steps}: the run is at step {done}, past the start of its "
            f"learning-rate decay (train.lr_decay: {saved.lr_decay}), so continuing would not equal a run trained for "
            f"{wanted.steps} steps from the start; train a new run (another --out or run directory)")
