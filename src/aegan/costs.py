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


def protocol_of(config) -> str:
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


def _cost_key(config, own: bool = False) -> str:
    """What a step's cost depends on besides the method: data, nets, batch, device, amp,
    compile; with ``own``, the method section too (a method timed itself)."""
    d = config.to_dict()
    train = {k: d["train"][k] for k in ("batch_size", "device", "amp", "compile", "optimizer")}
    return json.dumps({"data": d["data"], "model": d["model"], "train": train, **({"method": d["method"]} if own else {})},
                      sort_keys=True)


@dataclass(frozen=True)
class Calibration:
    wall_ms: float  # what the estimate uses: the real runs' ms/step is wall time too
    cpu_ms: float  # this process's CPU time per step: well below wall_ms when the machine is busy
    device: str
    what: str  # the data, nets and batch timed


_CALIBRATED: dict[str, Calibration] = {}
_FAILED: dict[str, Exception] = {}


def calibrate(config, steps: int = CALIBRATION_STEPS, warmup: int = CALIBRATION_WARMUP, own: bool = False) -> float:
    """ms per NS-GAN step (wall time) on ``config``'s data, nets, batch and device, timed here
    (one thread, no logging, no evaluation); cached per cost-relevant part of the config.
    ``own``: a step of the config's own method instead (a plugin's, which the table lacks)."""
    key = _cost_key(config, own)
    if key in _FAILED:
        raise _FAILED[key]
    if key not in _CALIBRATED:
        try:
            _CALIBRATED[key] = _time_reference(config, steps, warmup, own)
        except Exception as err:  # remembered: the next job of this config does not retry
            _FAILED[key] = err
            raise
    return _CALIBRATED[key].wall_ms


def calibrations(configs) -> list[Calibration]:
    """The calibrations (made in this process) that ``configs`` use, once each."""
    keys = dict.fromkeys(_cost_key(c) for c in configs)
    return [_CALIBRATED[k] for k in keys if k in _CALIBRATED]


def _time_reference(config, steps: int, warmup: int, own: bool = False) -> Calibration:
    import torch

    from aegan.config import build_config
    from aegan.train import Trainer

    raw = config.to_dict()
    if not own:
        raw["method"] = {"name": REFERENCE}
    raw["train"] = {**raw["train"], "tensorboard": False, "threads": 1, "init_from": None, "init_nets": None,
                    "freeze": [], "instance_noise": 0.0, "instance_noise_steps": 0, "steps": steps + warmup}
    raw["eval"] = {"metrics": []}
    threads = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            trainer = Trainer(build_config(raw), run_dir)
            for _ in range(warmup):
                trainer.train_step()
            _sync(trainer.device)
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(steps):
                _, values = trainer.train_step()
            float(values[0].detach())  # the loop reads the values: wait for the device
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            what = f"{config.data.name}, {config.model.name} nets, batch {config.train.batch_size}"
            return Calibration(1000 * wall / steps, 1000 * cpu / steps, str(trainer.device), what)
    finally:
        torch.set_num_threads(threads)


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
