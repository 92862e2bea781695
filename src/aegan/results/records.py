"""Results kept as data: one small JSON record per finished run (no weights).

A run writes ``record.json`` into its directory when it ends, evaluated (status ``ok``,
exit 0) or diverged (status ``diverged``, exit 3, with the reason). The record holds the
resolved config and its hashes, the metrics and their parameters, a thinned series of the
logged scalars for the curves, costs, warnings and the software and hardware it ran on.
``aegan compare --records DIR`` copies its runs' records into DIR, a directory that may be
committed and merged; ``aegan tables`` and ``aegan report`` read records alone.

The **protocol** of a record is its config without what a table compares or what does not
change results: the ``method`` section (the rows), ``train.seed`` (the seeds), the keys a
``--grid`` varies, and the bookkeeping keys in ``BOOKKEEPING``; the varied keys' names stay
in it. Records of one table must share the protocol hash (docs/results.md).

Records are plain JSON, read with ``json.loads``: nothing is unpickled.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Iterable

from aegan.checkpoint import atomic_write_text, json_text

KIND = "aegan.run_record"
SCHEMA = 1
RECORD_FILE = "record.json"
PROTOCOL_FILE = "protocol.json"  # a records directory's table protocol, per benchmark
REFERENCES_FILE = "references.yaml"  # published reference rows (tables.load_references)
COMPUTE_FILE = "compute.json"  # a benchmark's FLOP counts per row, a cache beside its records (aegan.results.compute)
MAX_POINTS = 200  # the thinned series: at most this many points per scalar
# train keys that change neither the numbers nor their meaning (where and how a run is logged)
BOOKKEEPING = {"train": ("seed", "device", "threads", "log_every", "checkpoint_every", "snapshots", "tensorboard",
                         "tensorboard_every", "compile"),
               "eval": ("every", "every_n_samples")}  # evaluations during training leave the run as it is
INCEPTION_METRICS = ("fid", "inception_score", "prdc")
SERIES_PREFIXES = ("loss/", "grad/", "diag/")
EVAL_TIME = "time/train_seconds"  # an eval.jsonl row's training seconds so far (the budget curves' wall time)
# the compute beside every score (aegan.results.compute): pseudo-metrics a table adds to each record's
# metrics when it loads them, never stored in a record; costs, so lower is better
COMPUTE_METRICS = ("compute/g_updates", "compute/d_updates", "compute/e_updates", "compute/train_seconds",
                   "compute/gflops_per_step", "compute/train_cpu_seconds")
# metrics where lower is better (the worst seed is the highest); every other tabulated metric is higher-better
LOWER_IS_BETTER = frozenset({"fid/fid", "fid/kid", "mixture/kl", "mnist_modes/kl", *COMPUTE_METRICS})
# metrics whose larger value is the better one; LOWER_IS_BETTER (and missed modes) the smaller;
# any other column (gradients, D's output, a held-out accuracy) has no better side
HIGHER_IS_BETTER = frozenset({"mixture/modes", "mixture/high_quality", "mixture/strict_modes", "mnist_modes/modes",
                              "mode_score/mode_score", "classifier_is/inception_score", "ms_ssim/quality"})
# metrics a run reports the best value of over training (eval.every), the direction from
# LOWER_IS_BETTER (003 Tables 3, 6: "the best FIDs and the iterations")
BEST_OF = ("fid/fid", "fid/kid", "mnist_modes/modes", "mode_score/mode_score", "classifier_is/inception_score")


def canonical_hash(obj: Any) -> str:
    """SHA-256 of the canonical JSON text of ``obj`` (sorted keys, no spaces)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _drop(config: dict[str, Any], dotted: str) -> None:
    *path, last = dotted.split(".")
    node = config
    for key in path:
        node = node.get(key)
        if not isinstance(node, dict):
            return
    node.pop(last, None)


INIT_FROM_PARTS = 3  # a compare run's identity: <config>/<row>/seed<N>


def init_source(path: str) -> str:
    """``train.init_from`` as the protocol sees it: the source run's identity, the last path
    parts (``vanishing_mnist_cpu/nsgan/seed0`` for a compare run directory; a checkpoint file
    keeps its run's parts and its name), not where it lies on one machine, so runs warm-started
    from the same source run in another checkout or output folder share a table."""
    parts = Path(path).parts
    if parts and Path(path).suffix == ".pt":  # <run>/checkpoints/<name>.pt
        return "/".join(parts[-INIT_FROM_PARTS - 2:])
    return "/".join(parts[-INIT_FROM_PARTS:])


def protocol_of(config: dict[str, Any], varied: Iterable[str] = ()) -> dict[str, Any]:
    """The part of a resolved config that every row and seed of one table shares
    (``train.init_from`` by its source run's identity: ``init_source``)."""
    config = copy.deepcopy(config)
    config.pop("method", None)
    config.pop("methods", None)
    train = config.get("train")
    if isinstance(train, dict) and train.get("init_from"):
        train["init_from"] = init_source(str(train["init_from"]))
    for section, keys in BOOKKEEPING.items():
        for key in keys:
            _drop(config, f"{section}.{key}")
    varied = sorted(varied)
    for key in varied:
        _drop(config, key)
    return {"config": config, "varied": varied}


def sharing_form(protocol: dict[str, Any], metrics: Iterable[str]) -> dict[str, Any]:
    """``protocol`` without ``eval.metrics`` and with ``eval.params`` of ``metrics`` only."""
    protocol = copy.deepcopy(protocol)
    evaluation = protocol.get("config", {}).get("eval")
    if isinstance(evaluation, dict):
        evaluation.pop("metrics", None)
        params = evaluation.get("params")
        if isinstance(params, dict):
            evaluation["params"] = {k: v for k, v in params.items() if k in metrics}
            if not evaluation["params"]:
                evaluation.pop("params")
    return protocol


def same_protocol(table: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether a record of protocol ``other`` belongs to a table of protocol ``table``.

    Equal protocols do; so do protocols that differ only in which metrics were evaluated (a
    table may gain a metric: ``eval.metrics`` of one lists more or fewer, and the params of a
    metric evaluated by one only don't count). A metric's value does not depend on the other
    metrics of its evaluation (each draws its samples by the evaluation seed), so the metrics
    both evaluated stay comparable, and each cell counts the seeds that have its metric."""
    if canonical_hash(table) == canonical_hash(other):
        return True
    names = lambda p: set(p.get("config", {}).get("eval", {}).get("metrics") or [])  # noqa: E731
    shared = names(table) & names(other)
    return canonical_hash(sharing_form(table, shared)) == canonical_hash(sharing_form(other, shared))


def row_identity(config: dict[str, Any], point: dict[str, Any]) -> str:
    """The hash of what makes a row: the method section and the grid point."""
    return canonical_hash({"method": config.get("method"), "point": point})


def method_setting(method: dict[str, Any]) -> dict[str, Any] | None:
    """A record's method section as this aegan reads it: every field of the method's Config,
    those it gained after the record was written at their defaults (a field added to a method
    keeps the behaviour before it as its default); None for a method or a field unknown here."""
    from pydantic import ValidationError

    from aegan.methods import METHODS

    params = {k: v for k, v in method.items() if k != "name"}
    try:
        config = METHODS[method["name"]].Config.model_validate(params)
    except (KeyError, ValidationError):
        return None
    return {"name": method["name"], **config.model_dump(mode="json")}


def same_row(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two records hold one row's setting: the same row hash, or the same grid point
    and the same method section once the fields added to the method since take their defaults
    (MDGAN's ``encoder_loss`` and ``weight_on`` are absent from its records before them)."""
    if a["row_hash"] == b["row_hash"]:
        return True
    if a.get("point") != b.get("point"):
        return False
    setting = method_setting(a["config"]["method"])
    return setting is not None and setting == method_setting(b["config"]["method"])


def thin_series(rows: list[dict[str, Any]], max_points: int = MAX_POINTS,
                prefixes: tuple[str, ...] = SERIES_PREFIXES) -> dict[str, list]:
    """Bin-mean the logged rows into at most ``max_points`` points per scalar.

    Each bin is a run of consecutive steps; its point is the mean of each scalar over the
    bin, at the bin's last step (means, not every k-th step: a thinned curve of a noisy loss
    stays faithful). Returns ``{"step": [...], name: [...]}`` (None where a bin lacks it)."""
    rows = [r for r in rows if isinstance(r.get("step"), int)]
    if not rows:
        return {"step": []}
    names = sorted({k for r in rows for k in r if k.startswith(prefixes)})
    n_bins = min(max_points, len(rows))
    edges = [round(i * len(rows) / n_bins) for i in range(n_bins + 1)]
    series: dict[str, list] = {"step": [], **{n: [] for n in names}}
    for a, b in zip(edges, edges[1:]):
        chunk = rows[a:b]
        series["step"].append(chunk[-1]["step"])
        for name in names:
            values = [r[name] for r in chunk if isinstance(r.get(name), (int, float)) and math.isfinite(r[name])]
            series[name].append(float(f"{sum(values) / len(values):.4g}") if values else None)
    return series


def term_gradients(series: dict[str, list], tail: float = 0.1) -> dict[str, dict[str, float]]:
    """Each loss term's gradient norm on its phase's nets (``train.grad_per_term`` logs
    ``grad/<phase>/term/<term>``), mean over the last ``tail`` of a series' points:
    {phase: {term: norm}}, the balance a method trains with; {} when none was logged."""
    out: dict[str, dict[str, float]] = {}
    for name in sorted(k for k in series if k.startswith("grad/") and "/term/" in k):
        values = [v for v in series[name] if isinstance(v, (int, float)) and math.isfinite(v)]
        if values:
            phase, term = name[len("grad/"):].split("/term/", 1)
            last = values[-max(1, int(len(values) * tail)):]
            out.setdefault(phase, {})[term] = sum(last) / len(last)
    return out


def best_over_training(history: list[dict[str, Any]], final: dict[str, Any], final_step: int) -> dict[str, float]:
    """For each ``BEST_OF`` metric evaluated during training: ``best/<key>``, its best value over
    the evaluations during training (``history``: eval.jsonl rows) and at the end (``final``
    at ``final_step``), and ``best_step/<key>``, the step of it (the earliest on a tie).
    {} for a run without evaluations during training: its final value is its only one."""
    out: dict[str, float] = {}
    for key in BEST_OF:
        better = min if key in LOWER_IS_BETTER else max
        points = [(row["step"], row[key]) for row in history if _finite(row.get(key))]
        if not points:
            continue
        if _finite(final.get(key)):
            points.append((final_step, final[key]))
        best = better(value for _, value in points)
        out[f"best/{key}"] = float(best)
        out[f"best_step/{key}"] = float(min(step for step, value in points if value == best))
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The rows of a run's log.jsonl; a partial or foreign line is skipped."""
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


PREVIEW_POINTS = 300  # 2D: the first points of the last snapshot, 3 decimals (~5 KB)
PREVIEW_IMAGES = 16  # images: the first of the last snapshot, a 4x4 PNG grid (base64)


def samples_preview(run_dir: Path) -> dict[str, Any] | None:
    """A small picture of the run's last sample snapshot (``samples/step_*.npy``), so that a
    report of records alone shows samples: {"step", "points": [[x, y], ...]} for 2D data,
    {"step", "png": base64} for images; None without a snapshot."""
    snaps = sorted(Path(run_dir).glob("samples/step_*.npy"))
    if not snaps:
        return None
    import numpy as np

    try:
        samples = np.load(snaps[-1], allow_pickle=False)
    except (OSError, ValueError):
        return None
    step = int(snaps[-1].stem[5:])
    if samples.ndim == 2:
        return {"step": step, "points": np.round(samples[:PREVIEW_POINTS].astype(float), 3).tolist()}
    if samples.ndim == 4:
        return {"step": step, "png": _png_grid(samples[:PREVIEW_IMAGES])}
    return None


def _png_grid(images) -> str:
    """(N, C, H, W) in [0, 1] -> a 4-per-row PNG grid, base64."""
    import base64
    import io

    import torch
    from PIL import Image
    from torchvision.utils import make_grid

    grid = make_grid(torch.as_tensor(images).float().clamp(0, 1), nrow=4, padding=1, pad_value=1.0)
    pixels = (grid * 255).round().byte().permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _git_commit() -> dict[str, Any]:
    """The commit of the source tree aegan was imported from (None outside a git checkout)."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


def _cpu_model() -> str | None:
    """The CPU's model name (Linux /proc/cpuinfo; None elsewhere): platform.processor() says only "x86_64"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def environment(device: Any) -> dict[str, Any]:
    """Software versions and the machine a run ran on."""
    import numpy
    import torch

    from aegan.version import __version__

    device = str(device)
    info = {"aegan": __version__, "git": _git_commit(), "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "device": device,
            "machine": {"hostname": platform.node(), "platform": platform.platform(),
                        "processor": _cpu_model() or platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                        # the kernels ATen dispatches to: runs on CPUs of another level may differ in the last bits
                        "cpu_capability": torch.backends.cpu.get_cpu_capability()}}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info


def machine_summary() -> str:
    """One line naming this machine for a benchmark's header: CPU model, cores, ATen's kernels,
    the GPU if any, torch."""
    import torch

    info = environment("cuda" if torch.cuda.is_available() else "cpu")
    machine = info["machine"]
    return (f"{machine['processor']}, {machine['cpus']} cores (ATen {machine['cpu_capability']}), "
            f"{info.get('device_name', 'no GPU')}, torch {info['torch']}")


def inception_hash(metric_params: dict[str, Any]) -> str | None:
    """The SHA-256 of the Inception weights the run's metrics used, when any used them."""
    used = [m for m in INCEPTION_METRICS if m in metric_params]
    if not used:
        return None
    custom = [p.get("weights") for m in used for p in [metric_params[m] or {}] if p.get("weights")]
    if custom:
        return f"custom weights file: {custom[0]}"
    from aegan.metrics.inception import INCEPTION_SHA256

    return INCEPTION_SHA256


def build_record(run_dir: Path, config: dict[str, Any], *, status: str, reason: str | None, step: int,
                 meta: dict[str, Any], result: dict[str, Any] | None, train_seconds: float,
                 wall_seconds: float, device: Any, train_cpu_seconds: float | None = None) -> dict[str, Any]:
    """A run's record from its config, its evaluation result (None when it diverged) and its log."""
    result = result or {}
    point = dict(meta.get("point") or {})
    metric_params = result.get("metric_params", {})
    return {
        "kind": KIND,
        "schema": SCHEMA,
        "benchmark": meta.get("benchmark") or config["data"]["name"],
        "label": meta.get("label") or config["method"]["name"],
        "method": config["method"]["name"],
        "seed": config["train"]["seed"],
        "point": point,
        "status": status,
        "exit_code": 0 if status == "ok" else 3,
        "reason": reason,
        "step": step,
        "steps": config["train"]["steps"],
        "config": config,
        "config_hash": canonical_hash(config),
        "protocol_hash": canonical_hash(protocol_of(config, point)),
        "row_hash": row_identity(config, point),
        "data_protocol": result.get("protocol", meta.get("data_protocol")),
        "metrics": result.get("metrics", {}),
        "metric_params": metric_params,
        "inception_sha256": inception_hash(metric_params),
        "warnings": result.get("warnings", meta.get("warnings", [])),
        "time_per_step_ms": 1000 * train_seconds / max(step, 1),
        "train_seconds": train_seconds,
        # CPU time of the same loop body (every thread of the process): unlike the wall clock, other
        # processes sharing the cores hardly change it, so rows run under different loads compare
        "train_cpu_seconds": train_cpu_seconds,
        "wall_seconds": wall_seconds,
        "peak_memory_mb": result.get("peak_memory_mb", meta.get("peak_memory_mb", {})),
        # net -> optimiser, lr, initialisation and optimiser steps per training step
        "training": result.get("training", meta.get("training", {})),
        "data_shape": meta.get("data_shape"),  # one sample's shape: what aegan.results.compute builds the nets for
        "series": thin_series(read_log(Path(run_dir) / "log.jsonl")),
        # the metrics during training (eval.every), each a point at its step, with the training seconds
        # so far (EVAL_TIME); the final metrics are above
        "eval_history": thin_series(read_log(Path(run_dir) / "eval.jsonl"),
                                    prefixes=(*(f"{m}/" for m in config["eval"]["metrics"]), "time/")),
        "samples_preview": samples_preview(Path(run_dir)),
        "environment": environment(device),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "run_dir": str(run_dir),
        "files": {"config": "config.yaml", "samples_png": "samples.png"},
    }


def dumps(record: dict[str, Any]) -> str:
    """One top-level key per line, each value compact: small, and diffs stay readable."""
    lines = [f"{json.dumps(key)}: {json_text(value, sort_keys=True)}"  # NaN, inf: null (checkpoint.json_text)
             for key, value in sorted(record.items())]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write a record atomically (temporary file, fsync, os.replace)."""
    atomic_write_text(path, dumps(record))


def read_record(path: Path) -> dict[str, Any] | None:
    """A record file's content, or None when the file is not a readable record."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("kind") == KIND else None


def load_records(dirs: Iterable[str | Path]) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """Every record under the directories (a compare --out or a records directory), with its
    path, in a stable order; and a message for each file that looked like a record but is not."""
    found, problems = [], []
    for root in dirs:
        root = Path(root)
        if not root.is_dir():
            problems.append(f"{root}: not a directory")
            continue
        for path in sorted(root.rglob("*.json")):
            if path.name.startswith(".") or path.name in ("metrics.json", "results.json", PROTOCOL_FILE, COMPUTE_FILE):
                continue
            record = read_record(path)
            if record is None:
                if path.name == RECORD_FILE or (path.name.startswith("seed") and "-" in path.name):
                    problems.append(f"{path}: not a readable aegan record, skipped")
                continue
            found.append((path, record))
    return found, problems



def record_name(record: dict[str, Any]) -> str:
    """A record's path inside a records directory: <benchmark>/<label>/seed<k>-<config hash>.json.

    The same run copied twice lands on the same name; runs of other configs never collide."""
    return f"{record['benchmark']}/{record['label']}/seed{record['seed']}-{record['config_hash'][:12]}.json"
