"""What a comparison will cost before it runs: ms/step per job, and the plan's wall time.

Three sources, best first (``aegan compare --dry-run`` prints which one each job used):

- ``measured``: the median ``time_per_step_ms`` of finished runs of the same config and
  row in the plan's output directory (this machine, the real loop with its logging);
- ``table``: the method's cost relative to NS-GAN's on the same nets, batch and machine,
  from the cost table shipped with the package (``assets/method_cost.json``, written by
  ``benchmarks/method_cost.py --json``), times NS-GAN's ms/step on this machine for the
  job's config: from finished NS-GAN runs of that config when there are some, else timed
  now (``calibrate``: a few steps of NS-GAN on the config's nets, batch and device, one
  thread, as a worker of ``aegan compare`` runs);
- ``timed``: a plugin's method (``aegan.plugins``), which the shipped table cannot hold:
  a few steps of the method itself on the job's config, timed now as ``calibrate`` times NS-GAN;
- ``unknown``: a label the table does not hold (a new method; an image config whose
  protocol the table lacks falls back to the 2D ratios, and says so).

Ratios are the step's cost only; variants and grid points that the table does not list
take their base method's ratio (``table as <method>``), so a grid over ``n_critic`` or
``unrolled_steps`` is estimated at the default's cost.

``aegan train`` estimates a new run the same way (the table's ratio x NS-GAN timed here, with
the run's threads, for a second or two) and, when it comes to more than ``LONG_RUN_HOURS``,
says so before training, naming the reduced-scale ``*_cpu`` config if there is one
(``long_run_note``): a full-scale config copied onto a CPU is not left to run for days silently.
"""

from __future__ import annotations

import heapq
import json
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

REFERENCE = "nsgan"
CALIBRATION_STEPS = 20
CALIBRATION_WARMUP = 3


@dataclass(frozen=True)
class Cost:
    ms_per_step: float | None  # None: unknown
    source: str  # "measured", "table", "table as <method>", "unknown", ...
    detail: str = ""

    @property
    def kind(self) -> str:
        """Where the estimate comes from, for the plan's totals: "measured", "table", "timed" or "unknown"."""
        if self.ms_per_step is None:
            return "unknown"
        return self.source if self.source in ("measured", "timed") else "table"


@lru_cache(maxsize=None)
def cost_table(path: str | None = None) -> dict[str, Any]:
    """The shipped cost table (or the one at ``path``): {"protocols": {"2d": {"ratios": {label: ratio}}}}."""
    if path is not None:
        return json.loads(Path(path).read_text())
    try:
        text = resources.files("aegan").joinpath("assets", "method_cost.json").read_text()
    except (FileNotFoundError, OSError):
        return {"protocols": {}}
    return json.loads(text)


def cost_protocol(config) -> str:
    """The cost table's protocol for a run config: "2d" for vectors, "images" for images."""
    return "2d" if config.data.params.data_kind == "vectors" else "images"


def ratio(label: str, method: str, protocol: str, table: dict[str, Any] | None = None) -> tuple[float | None, str]:
    """(cost relative to NS-GAN, source) for a row ``label`` whose registered method is ``method``."""
    protocols = (table or cost_table())["protocols"]
    ratios = (protocols.get(protocol) or {}).get("ratios") or {}
    suffix = ""
    if not ratios and protocol != "2d":
        ratios, suffix = (protocols.get("2d") or {}).get("ratios") or {}, ", 2D ratio"
    if label in ratios:
        return float(ratios[label]), "table" + suffix
    if method in ratios:
        return float(ratios[method]), f"table as {method}" + suffix
    return None, "unknown"


def _cost_key(config, own: bool = False, threads: int = 1) -> str:
    """What a step's cost depends on besides the method: data, nets, batch, device, amp,
    compile, threads; with ``own``, the method section too (a method timed itself)."""
    d = config.to_dict()
    train = {k: d["train"][k] for k in ("batch_size", "device", "amp", "compile", "optimizer")}
    return json.dumps({"data": d["data"], "model": d["model"], "train": train, "threads": threads,
                       **({"method": d["method"]} if own else {})}, sort_keys=True)


@dataclass(frozen=True)
class Calibration:
    wall_ms: float  # what the estimate uses: the real runs' ms/step is wall time too
    cpu_ms: float  # this process's CPU time per step: well below wall_ms when the machine is busy
    device: str
    what: str  # the data, nets and batch timed


_CALIBRATED: dict[str, Calibration] = {}
_FAILED: dict[str, Exception] = {}


def calibrate(config, steps: int = CALIBRATION_STEPS, warmup: int = CALIBRATION_WARMUP, own: bool = False,
              threads: int = 1, budget_s: float | None = None) -> float:
    """ms per NS-GAN step (wall time) on ``config``'s data, nets, batch and device, timed here
    (``threads`` torch threads, one as a worker of ``aegan compare``; no logging, no evaluation;
    with ``budget_s``, fewer steps once that many seconds are spent, at least one); cached per
    cost-relevant part of the config. ``own``: a step of the config's own method instead (a
    plugin's, which the table lacks)."""
    key = _cost_key(config, own, threads)
    if key in _FAILED:
        raise _FAILED[key]
    if key not in _CALIBRATED:
        try:
            _CALIBRATED[key] = _time_reference(config, steps, warmup, own, threads, budget_s)
        except Exception as err:  # remembered: the next job of this config does not retry
            _FAILED[key] = err
            raise
    return _CALIBRATED[key].wall_ms


def calibrations(configs) -> list[Calibration]:
    """The calibrations (made in this process) that ``configs`` use, once each."""
    keys = dict.fromkeys(_cost_key(c) for c in configs)
    return [_CALIBRATED[k] for k in keys if k in _CALIBRATED]


def _time_reference(config, steps: int, warmup: int, own: bool = False, threads: int = 1,
                    budget_s: float | None = None) -> Calibration:
    import torch

    from aegan.config import build_config
    from aegan.train import Trainer

    raw = config.to_dict()
    if not own:
        raw["method"] = {"name": REFERENCE}
    raw["train"] = {**raw["train"], "tensorboard": False, "threads": threads, "init_from": None, "init_nets": None,
                    "freeze": [], "instance_noise": 0.0, "instance_noise_steps": 0, "steps": steps + warmup}
    raw["eval"] = {"metrics": []}
    saved_threads = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            trainer = Trainer(build_config(raw), run_dir)
            for _ in range(warmup):
                trainer.train_step()
            _sync(trainer.device)
            start, cpu = time.perf_counter(), time.process_time()
            done = 0
            while done < steps and (done == 0 or budget_s is None or time.perf_counter() - start < budget_s):
                _, values = trainer.train_step()
                done += 1
                if budget_s is not None:
                    float(values[0].detach())  # each step waits for the device: the budget is wall time
            float(values[0].detach())  # the loop reads the values: wait for the device
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            what = f"{config.data.name}, {config.model.name} nets, batch {config.train.batch_size}"
            return Calibration(1000 * wall / done, 1000 * cpu / done, str(trainer.device), what)
    finally:
        torch.set_num_threads(saved_threads)


def _sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def makespan(durations: list[float], workers: int) -> float:
    """Wall time of jobs taken in order by the first free of ``workers`` (as the pool does)."""
    free = [0.0] * max(1, min(workers, len(durations) or 1))
    for d in durations:
        heapq.heapreplace(free, free[0] + d)
    return max(free)


# -- before one run: "this will take hours" ------------------------------------------------------
LONG_RUN_HOURS = 3.0  # "a few hours": ``aegan train`` of a run estimated above it says so first
PREFLIGHT = {"steps": 5, "warmup": 1, "budget_s": 2.0}  # the NS-GAN timing before a run: seconds at most
# shorter runs are not timed (a second spent on a test's 6-step run): LONG_RUN_HOURS in fewer steps would
# take 54 s a step, far above any aegan config's (a full-scale image step on 2 CPU cores: seconds)
MIN_ESTIMATED_STEPS = 200


def run_estimate(config, steps: int) -> tuple[float, str] | None:
    """(seconds, how) of ``steps`` training steps of ``config`` on this machine: the cost table's
    ratio of its method to NS-GAN times NS-GAN's ms/step timed here on the config's data, nets,
    batch, device and threads (eager: compile time not counted); None where the table lacks the
    method or the timing fails. Call it before the run's ``Trainer`` is built: the timing draws
    from the global RNGs, which building a ``Trainer`` seeds."""
    import torch

    from aegan.config import build_config

    r, source = ratio(config.method.name, config.method.name, cost_protocol(config))
    if r is None:
        return None
    raw = config.to_dict()
    eager = build_config({**raw, "train": {**raw["train"], "compile": False}})
    threads = config.train.threads or torch.get_num_threads()
    try:
        ms = calibrate(eager, PREFLIGHT["steps"], PREFLIGHT["warmup"], threads=threads, budget_s=PREFLIGHT["budget_s"])
    except Exception:  # noqa: BLE001 -- an estimate only: the run itself reports what is wrong
        return None
    how = (f"{config.method.name} {r:.2f}x NS-GAN ({source}) x {ms:.3g} ms per NS-GAN step timed here with "
           f"{threads} thread(s) x {steps:,} steps")
    return steps * r * ms / 1000, how


def long_run_note(config, steps: int, config_path: str | Path | None = None) -> str | None:
    """One line for a run whose ``run_estimate`` exceeds ``LONG_RUN_HOURS``, pointing to the
    reduced-scale ``*_cpu`` config where there is one (``reduced_config``); None otherwise."""
    if steps < MIN_ESTIMATED_STEPS:
        return None
    estimate = run_estimate(config, steps)
    if estimate is None or estimate[0] < LONG_RUN_HOURS * 3600:
        return None
    seconds, how = estimate
    smaller = reduced_config(config, config_path) if config_path else None
    hint = f"; {smaller} is its reduced scale for a CPU" if smaller else ""
    return (f"aegan: note: this run will take ~{_duration(seconds)} of training on this machine ({how}; evaluation "
            f"comes on top){hint}; fewer steps: --train.steps=N")


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:,.0f} h ({hours / 24:.1f} days)" if hours >= 48 else f"{hours:.1f} h"


SHIPPED_CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # in a source checkout
REDUCED_SUFFIX = "_cpu"


def reduced_config(config, config_path: str | Path) -> Path | None:
    """The reduced-scale config of ``config_path``: its ``<name>_cpu.yaml`` sibling; else, for a
    copy of a shipped full-scale config (the same method, model, train and eval sections, any
    data), that config's ``_cpu`` sibling under ``configs/``; None when there is none."""
    path = Path(config_path)
    if path.stem.endswith(REDUCED_SUFFIX):
        return None
    sibling = path.with_name(f"{path.stem}{REDUCED_SUFFIX}{path.suffix}")
    if sibling.is_file():
        return sibling
    from aegan.config import ConfigError, load_config

    mine = _scale(config.to_dict())
    for reduced in sorted(SHIPPED_CONFIGS.glob(f"**/*{REDUCED_SUFFIX}.yaml")):
        full = reduced.with_name(reduced.name.replace(f"{REDUCED_SUFFIX}.yaml", ".yaml"))
        try:
            if full.is_file() and _scale(load_config(full).to_dict()) == mine:
                return _shown(reduced)
        except (ConfigError, OSError, ValueError):
            continue
    return None


def _scale(d: dict[str, Any]) -> dict[str, Any]:
    """What makes a config full-scale or reduced: all but its data section, what follows from the
    data (the generator's output for the data's range) and where it runs."""
    train = {k: v for k, v in d["train"].items() if k not in ("seed", "device", "threads")}
    model = {k: v for k, v in d["model"].items() if k != "output"}
    return {"method": d["method"], "model": model, "train": train, "eval": d["eval"]}


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
