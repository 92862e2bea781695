"""What the training loop writes as it goes (rank 0): the config, the scalar log (log.jsonl,
TensorBoard), the live warnings, the progress bar, sample snapshots, evaluations during training."""

from __future__ import annotations

from typing import Any

import torch
import yaml
from tqdm.auto import tqdm

from aegan.checkpoint import atomic_write_text
from aegan.progress import disable as progress_disable
from aegan.runlog import NullLog, ScalarLog, truncate_after
from aegan.training.evaluation import evaluation_due, replayed_monitor

Trainer = Any  # aegan.train.Trainer, which passes itself in (not imported: aegan.train imports this module)


def snapshot_steps(steps: int, count: int) -> set[int]:
    """The ``count`` steps, evenly spaced up to ``steps``, whose samples are saved (``train.snapshots``)."""
    return {max(1, round(steps * k / count)) for k in range(1, count + 1)}


class LoopOutputs:
    """A context for ``Trainer.fit``: opened, it writes config.yaml, replays the run's warnings so
    far and drops evaluations past the resumed step; closed, it closes the log and the bar."""

    def __init__(self, trainer: Trainer, progress: bool):
        self.trainer = trainer
        self.main = trainer.dist.is_main
        self.progress = progress

    def __enter__(self) -> LoopOutputs:
        trainer, cfg, main = self.trainer, self.trainer.config.train, self.main
        if main:
            from aegan.metrics.fid_stats import check_reference_sizes

            atomic_write_text(trainer.paths.config, yaml.safe_dump(trainer.config.to_dict(), sort_keys=False))
            check_reference_sizes(trainer.config, trainer.data)  # a reference set above the data's size: said now
        self.log = ScalarLog(trainer.paths.root, cfg.tensorboard, trainer.step, cfg.tensorboard_every) if main else NullLog()
        trainer.monitor = replayed_monitor(trainer) if main else None
        self.snapshots = snapshot_steps(cfg.steps, cfg.snapshots)
        if main:
            truncate_after(trainer.paths.eval_log, trainer.step)
        self.bar = tqdm(total=cfg.steps, initial=trainer.step, disable=progress_disable(self.progress and main),
                        desc=trainer.config.method.name, unit="step", dynamic_ncols=True)
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
        self.log.close()

    def log_step(self, step: int, names: tuple[str, ...], values: list[torch.Tensor], flush: bool) -> None:
        """Add the step's scalars; on ``flush`` write the rows so far, show them to the live
        warnings and the progress bar (a host sync: every ``train.log_every`` steps)."""
        self.log.add(step, names, values)
        if flush:
            for row_step, row in self.log.flush():
                self.trainer.monitor.observe(row_step, row)
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix({k.split("/", 1)[1]: f"{v:.3g}" for k, v in self.log.latest.items()
                                  if k.startswith("loss/")}, refresh=False)

    def snapshot_and_evaluate(self) -> None:
        """The sample snapshot (``train.snapshots``) and the metrics (``eval.every``) due at this step."""
        if not self.main:
            return
        if self.trainer.step in self.snapshots:
            self.trainer.save_snapshot()
        if evaluation_due(self.trainer):
            self.trainer.evaluate_during(self.log)
