"""Compute beside every score: what each run of a table spent to reach its numbers.

A table's rows are compared at the same number of training steps, but a step is not the
same work for every method: GAN-RL with ``generator_steps: 2`` updates G twice per D
update, MDGAN trains two discriminators and an encoder, WGAN five critic steps. So that a
reader sees when a method wins by doing more work, every record gets, when a table loads
it (``add_compute``), these pseudo-metrics (``records.COMPUTE_METRICS``; never written into
a record, costs: lower is better) that flow through the table's columns like any metric:

- ``compute/g_updates``: the generator's optimiser steps over the run, ``updates_per_step``
  of the record's ``training`` (the loop counts every optimiser step) x the steps it ran;
- ``compute/d_updates``: the same summed over every discriminator net (each net whose name
  holds "discriminator": MDGAN's two, GAN+AE's latent one, alpha-GAN's code one);
- ``compute/e_updates``: the same for the encoder (0 without one; AGE's encoder is its
  adversary: it has no net called discriminator);
- ``compute/train_seconds``: the record's training time (the timed loop body: steps and
  logging, not checkpoints, snapshots or evaluations), on the machine it ran on;
- ``compute/train_cpu_seconds``: the CPU time of the same loop body (``time.process_time``,
  every thread of the process; records made before 2026-12-07 have none): what the run
  computed, nearly blind to other processes sharing the cores, which the wall clock is not;
- ``compute/gflops_per_step``: floating-point operations of one training step counted by
  torch's own counter (``torch.utils.flop_counter.FlopCounterMode``), in units of 1e9: the
  row's method and nets, built from the record's config on the CPU at the config's batch
  size, run for one step (every phase: forward and backward) on random batches of the
  data's shape. The counter counts the matrix products and convolutions (forward and
  backward) and nothing else: not the elementwise work (activations, normalisation,
  losses, the optimiser's update), nor data loading, nor the diagnostics the loop logs
  (``train.grad_per_term`` is off for the count). It is the first step's count: a method
  whose schedule changes during training (GAN+AE+alpha_L's stage 2 adds G's adversarial
  update) gets a note naming the net whose updates per step differ over the run.

Records made before ``training`` was recorded get their update counts from the counted
first step (its optimiser steps x the steps run, with a note saying so) where the method's
schedule is fixed (``Method.schedule_changes`` False), else n/a with a note;
FLOPs need no run directory and no data files (the data's shape comes from the record),
so committed records get them too. A row that cannot be counted (a config this version
no longer builds) gets n/a and a note with the reason. A row's count is kept in this
process and in its benchmark's ``compute.json`` beside the records (``CACHE_FILE``: sorted
JSON keyed by the protocol and row hashes, so it can be committed and a fresh clone's
tables need no count; delete it to count again); the count never changes a global RNG or
torch's thread setting.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from aegan.results import records as rec
from aegan.checkpoint import atomic_write_text, capture_rng, restore_rng
from aegan.data.base import DataSource
from aegan.batch import Batch

G_UPDATES, D_UPDATES, E_UPDATES, TRAIN_SECONDS, GFLOPS, TRAIN_CPU_SECONDS = rec.COMPUTE_METRICS
# one sample's shape of datasets whose records' data protocol does not say it (records made
# before ``data_shape`` was recorded): LeCun's 28x28 grey digits and Zalando's articles
GREY_28 = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28)}


@dataclass(frozen=True)
class StepCount:
    """One training step's FLOPs (None when it could not be counted, ``reason`` says why) and
    each net's optimiser steps in it."""

    flops: int | None
    updates: dict[str, int] = field(default_factory=dict)
    reason: str = ""


_COUNTS: dict[str, StepCount] = {}  # row_key -> the row's count, in this process
CACHE_FILE = rec.COMPUTE_FILE  # a benchmark's counts beside its records: row_key -> {label, flops, first_step_updates}


def is_discriminator(net: str) -> bool:
    return "discriminator" in net


def update_totals(record: dict[str, Any]) -> dict[str, float]:
    """``compute/{g,d,e}_updates`` of a record: each net's ``updates_per_step`` x the steps it
    ran (``record["step"]``: a diverged run's steps before it stopped); {} without ``training``."""
    training = record.get("training") or {}
    if not training:
        return {}
    steps = record.get("step") or 0
    total = lambda nets: float(round(sum(training[n].get("updates_per_step", 0.0) for n in nets) * steps))  # noqa: E731
    return {G_UPDATES: total([n for n in training if n == "generator"]),
            D_UPDATES: total([n for n in training if is_discriminator(n)]),
            E_UPDATES: total([n for n in training if n == "encoder"])}


def data_shape(record: dict[str, Any]) -> tuple[int, ...]:
    """One sample's shape: the record's ``data_shape``, its data protocol's ``shape``, a
    dataset of known shape (MNIST, Fashion-MNIST; natural images: channels x resolution^2),
    else the dataset itself built on the CPU (2D mixtures, sklearn digits: no files). Raises
    what building the dataset raises (its files are not here: ``MissingDataset``)."""
    for shape in (record.get("data_shape"), (record.get("data_protocol") or {}).get("shape")):
        if shape:
            return tuple(int(s) for s in shape)
    data = record["config"]["data"]
    if data["name"] in GREY_28:
        return GREY_28[data["name"]]
    if "resolution" in data:
        return int(data.get("channels", 3)), int(data["resolution"]), int(data["resolution"])
    from aegan.config import _choice
    from aegan.data import DATASETS, build_dataset

    choice = _choice("data", data, DATASETS, "name")
    with _global_state_kept():
        return tuple(build_dataset(choice.name, choice.params, 0, torch.device("cpu")).shape)


def _counting_config(config: dict[str, Any]) -> dict[str, Any]:
    """A record's config as the count builds it: on the CPU, nothing loaded from elsewhere
    (no warm start), no diagnostics, no metrics (which may need weights files)."""
    raw = copy.deepcopy(config)
    raw["train"] = {**raw.get("train", {}), "device": "cpu", "threads": None, "compile": False, "amp": False,
                    "init_from": None, "init_nets": None, "grad_per_term": False, "tensorboard": False}
    raw["eval"] = {"metrics": []}
    return raw


@contextlib.contextmanager
def _global_state_kept():
    """Every global RNG (torch's under ``torch.random.fork_rng``, numpy's, Python's) and torch's
    thread count as they were before the block."""
    threads, rng = torch.get_num_threads(), capture_rng()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        restore_rng(rng)
        torch.set_num_threads(threads)


def step_flops(config: dict[str, Any], shape: tuple[int, ...]) -> StepCount:
    """Count one training step of ``config`` (a resolved config, as a record holds it) on
    random batches of ``shape``: FLOPs by ``FlopCounterMode`` and each net's optimiser steps.
    Raises what building or running the step raises."""
    from aegan.config import build_config
    from aegan.train import Trainer

    built = build_config(_counting_config(config))
    with _global_state_kept(), tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(built, run_dir, data=RandomBatches(shape))
        counter = flop_counter()
        with counter:
            trainer.train_step()
        return StepCount(int(counter.get_total_flops()), dict(trainer.optimizer_steps))


class _WholeStepOnly:
    """Stands in for ``FlopCounterMode``'s module tracker, which attributes FLOPs to modules
    and breaks ``torch.autograd.grad(create_graph=True)`` through a tracked module (the
    gradient penalties of DRAGAN, WGAN-GP: pytorch/pytorch#131753): every FLOP goes to the
    counter's "Global" total alone, which is all a step's count needs."""

    parents = frozenset({"Global"})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def flop_counter() -> FlopCounterMode:
    """torch's FLOP counter (its dispatch mode and its per-operator formulas) without the
    per-module attribution (``_WholeStepOnly``) where this torch has one."""
    counter = FlopCounterMode(display=False)
    if hasattr(counter, "mod_tracker"):
        counter.mod_tracker = _WholeStepOnly()
    return counter


def row_key(record: dict[str, Any]) -> str:
    """What a step's count depends on: the record's protocol and row (hashes, 16 hex digits each)."""
    config, point = record["config"], record.get("point") or {}
    protocol = record.get("protocol_hash") or rec.canonical_hash(rec.protocol_of(config, point))
    row = record.get("row_hash") or rec.row_identity(config, point)
    return f"{protocol[:16]}-{row[:16]}"


def count_row(record: dict[str, Any]) -> StepCount:
    """``step_flops`` of a record's row; a failure becomes a count without FLOPs and its reason."""
    try:
        return step_flops(record["config"], data_shape(record))
    except Exception as err:  # noqa: BLE001 -- fail soft: the cell says n/a, the note why
        first_line = (str(err).splitlines() or [""])[0]
        return StepCount(None, reason=f"{type(err).__name__}: {first_line}")


def cache_path(path: Path, record: dict[str, Any]) -> Path | None:
    """A record's benchmark's cache file: ``CACHE_FILE`` in the nearest folder above the
    record named after its benchmark (``<records>/<benchmark>/`` or ``<out>/<benchmark>/``)."""
    return next((d / CACHE_FILE for d in Path(path).parents if d.name == record.get("benchmark")), None)


def read_cache(path: Path | None) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _from_cache(entry: Any) -> StepCount | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("flops"), int):
        return None
    updates = entry.get("first_step_updates")
    return StepCount(entry["flops"], {str(k): int(v) for k, v in updates.items()} if isinstance(updates, dict) else {})


def add_compute(items: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """Merge the compute pseudo-metrics into each finished record's ``metrics`` (in place; a
    diverged run has no scores, and so no compute either: the columns cover the seeds the
    scores do), and return notes on what could not be counted or changes over training,
    one per row. A row's count comes from this process's memory, else its benchmark's
    ``CACHE_FILE``, else it is counted and added to that file (written back when it changed,
    as sorted JSON: the same counts give the same bytes; an unwritable folder only loses the
    cache)."""
    notes: dict[str, str] = {}
    untrained: dict[str, None] = {}  # rows whose records predate ``training``: no update counts
    from_first_step: dict[str, None] = {}  # ... counted from the first step (a fixed schedule)
    caches: dict[Path | None, dict[str, Any]] = {}
    changed: set[Path] = set()
    for path, record in items:
        if record.get("status") != "ok":
            continue
        label = record["label"]
        metrics = record.setdefault("metrics", {})
        totals = update_totals(record)
        metrics.update(totals)
        if isinstance(record.get("train_seconds"), (int, float)):
            metrics[TRAIN_SECONDS] = float(record["train_seconds"])
        if isinstance(record.get("train_cpu_seconds"), (int, float)):
            metrics[TRAIN_CPU_SECONDS] = float(record["train_cpu_seconds"])
        key, where = row_key(record), cache_path(path, record)
        cache = caches.setdefault(where, read_cache(where))
        if key not in _COUNTS:
            _COUNTS[key] = _from_cache(cache.get(key)) or count_row(record)
        count = _COUNTS[key]
        if not totals:  # a record made before `training` was recorded
            totals = first_step_totals(record, count)
            metrics.update(totals)
            (from_first_step if totals else untrained).setdefault(label, None)
        if count.flops is None:
            notes.setdefault(f"{label} flops", f"{label}: FLOPs per step n/a ({count.reason})")
            continue
        if where is not None and _from_cache(cache.get(key)) != count:
            cache[key] = {"label": label, "flops": count.flops, "first_step_updates": dict(sorted(count.updates.items()))}
            changed.add(where)
        metrics[GFLOPS] = count.flops / 1e9
        schedule = _schedule_change(record, count)
        if schedule:
            notes.setdefault(f"{label} schedule", f"{label}: {schedule}")
    for where in sorted(changed):
        try:
            atomic_write_text(where, rec.dumps(caches[where]))  # a row per line, keys sorted
        except OSError:
            pass
    if untrained:
        notes["updates"] = (f"G, D and E updates n/a for {', '.join(untrained)}: their records predate the recorded "
                            "optimiser steps (`training`)")
    if from_first_step:
        notes["first step updates"] = (
            f"G, D and E updates of {', '.join(from_first_step)}: one counted step's optimiser steps x the steps "
            "run (their records predate the recorded `training`; these methods' schedules do not change over a run)")
    return list(notes.values())


def first_step_totals(record: dict[str, Any], count: StepCount) -> dict[str, float]:
    """``update_totals`` from a counted step's optimiser steps, for a record without ``training``
    whose method keeps one schedule over the run; {} where the method's schedule changes (or
    is unknown, or the step could not be counted)."""
    from aegan.methods import METHODS

    name = (record.get("config") or {}).get("method", {}).get("name")
    if not count.updates or name not in METHODS or METHODS[name].schedule_changes:
        return {}
    return update_totals({"training": {net: {"updates_per_step": float(n)} for net, n in count.updates.items()},
                          "step": record.get("step")})


def _schedule_change(record: dict[str, Any], count: StepCount) -> str:
    """"" when every net's updates per step over the run are those of the counted first step,
    else a sentence naming the nets whose are not."""
    training = record.get("training") or {}
    differ = []
    for net, setup in training.items():
        over_run, first = setup.get("updates_per_step"), count.updates.get(net, 0)
        if isinstance(over_run, (int, float)) and not math.isclose(over_run, first, rel_tol=1e-6, abs_tol=1e-9):
            differ.append(f"{net} {first} in the first step, {over_run:.3g} per step over the run")
    if not differ:
        return ""
    return ("FLOPs per step counted on the first step, but the method's schedule changes during training (updates: "
            + "; ".join(differ) + ")")


class RandomBatches(DataSource):
    """Uniform random batches of one shape, with labels in 0..9: the values change no FLOP
    count, so the count needs no data files."""

    protocol = "random batches (FLOP count)"

    def __init__(self, shape: tuple[int, ...]):
        super().__init__(0, torch.device("cpu"))
        self.shape = tuple(shape)

    def next_batch(self, n: int) -> Batch:
        return Batch(torch.rand(n, *self.shape, generator=self.rng), torch.randint(10, (n,), generator=self.rng))

    def describe(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "shape": list(self.shape)}
