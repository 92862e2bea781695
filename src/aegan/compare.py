"""Train several methods over several seeds on one or more configs and tabulate the results.

Runs are independent, so they go to a pool of worker processes (one torch thread each);
a run whose ``metrics.json`` is already complete is skipped, so an interrupted comparison
picks up where it stopped.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import multiprocessing as mp
import os
import random
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import yaml
from tqdm.auto import tqdm

from aegan.checkpoint import atomic_write_json, atomic_write_text
from aegan.plugins import worker_init, worker_specs
from aegan.progress import disable as progress_disable
from aegan.config import ConfigError, apply_overrides, build_config, read_yaml
from aegan.costs import Cost

# per metric: (column title, metric key, digits[, "min"]); a table shows the metrics its runs
# computed, as the mean over seeds with its 95 % interval (_mean_interval), or as the worst seed's value where
# "min" is given
COLUMNS = {
    "mixture": (("modes", "mixture/modes", 2), ("high-quality", "mixture/high_quality", 3),
                ("worst seed's high-quality", "mixture/high_quality", 3, "min"),
                ("strict modes", "mixture/strict_modes", 2), ("KL", "mixture/kl", 3)),
    "mnist_modes": (("modes", "mnist_modes/modes", 1), ("KL", "mnist_modes/kl", 3)),
    "mode_score": (("MODE score", "mode_score/mode_score", 2),),
    "classifier_is": (("IS", "classifier_is/inception_score", 2),),
    "fid": (("FID", "fid/fid", 2), ("KID", "fid/kid", 4)),
    # label-free effective numbers of modes (aegan.metrics.vendi, aegan.metrics.rke)
    "vendi": (("Vendi", "vendi/vendi", 1),),
    "rke": (("RKE-MC", "rke/rke_mc", 1),),
    # MS-SSIM read two ways (aegan.metrics.ms_ssim): 002's quality reading (higher better) and
    # the collapse reading against the real data's value (1 = identical samples)
    "ms_ssim": (("MS-SSIM (quality, 002)", "ms_ssim/quality", 3), ("MS-SSIM collapse", "ms_ssim/collapse", 3),
                ("MS-SSIM real", "ms_ssim/ms_ssim_real", 3)),
}
METHOD_STATE_COLUMNS = {  # Method.final_metrics, by key
    "method/stage": ("stage at the end", "method/stage", 0),
    "method/switch_step": ("first step of stage 2 (n/a: never)", "method/switch_step", 0),
    "method/alpha_l": ("alpha_L at the end", "method/alpha_l", ".3g"),
}
# the compute beside every score (aegan.compute adds them to a table's records as metrics)
# what a run spent: a plain mean over seeds (no interval, not tested against the baseline: a cost, not a score)
COMPUTE_COLUMNS = (("G updates", "compute/g_updates", 0, "plain"), ("D updates", "compute/d_updates", 0, "plain"),
                   ("E updates", "compute/e_updates", 0, "plain"),
                   ("training seconds", "compute/train_seconds", 0, "plain"),
                   ("GFLOPs per step", "compute/gflops_per_step", ".3g", "plain"))
MODE_METRICS = ("mixture", "mnist_modes")  # have <metric>/modes and <metric>/total_modes


def columns_for(results: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    present = {key.split("/", 1)[0] for r in results for key in r["metrics"]}
    columns = [col for metric, cols in COLUMNS.items() if metric in present for col in cols]
    columns += [col for metric in sorted(present - set(COLUMNS)) for col in registered_columns(metric)]
    # the third-party discriminator's missed modes, one column per metric and noise level
    # ("third_party_fast/sigma0.5/missed_modes"; 000 Sec. 4.2)
    # and, beside each, that discriminator's held-out accuracy (how well it told the two apart)
    missed = sorted({key for r in results for key in r["metrics"] if key.endswith("/missed_modes")})
    for key in missed:
        accuracy = key.replace("/missed_modes", "/held_out_accuracy")
        columns.append((f"third-party D: missed ({key.split('/')[1]})", key, 1))
        if any(accuracy in r["metrics"] for r in results):
            columns.append((f"third-party D: held-out accuracy ({key.split('/')[1]})", accuracy, 3))
    # the best value over training and its step, beside the final value (records.best_over_training)
    for key in sorted({k[len("best/"):] for r in results for k in r["metrics"] if k.startswith("best/")}):
        name, digits = next(((c[0], c[2]) for c in columns if c[1] == key), (key, 3))
        columns += [(f"best {name} over training", f"best/{key}", digits), (f"step of best {name}", f"best_step/{key}", 0)]
    # the method's own state at the end (GAN+AE+alpha_L: its stage, the step it switched, alpha_L)
    state = {key for r in results for key in r["metrics"] if key.startswith("method/")}
    columns += [col for key, col in METHOD_STATE_COLUMNS.items() if key in state]
    dynamics = {key for r in results for key in r["metrics"] if key.startswith("dynamics/")}
    columns += [dynamics_column(key) for key in sorted(dynamics, key=lambda k: _dynamics_rank(k, dynamics))]
    # last, what the runs spent (records' compute pseudo-metrics, aegan.compute): updates, seconds,
    # FLOPs; a column where no run has a nonzero value (E updates of a table without an encoder) is left out
    return columns + [col for col in COMPUTE_COLUMNS if any(r["metrics"].get(col[1]) for r in results)]


def registered_columns(metric: str) -> tuple[tuple[str, str, int | str], ...]:
    """The columns a registered metric declares (``register_metric(columns=...)``: a plugin's);
    () when the metrics are not loaded in this process (no plugin: the built-ins are ``COLUMNS``)."""
    registry = getattr(sys.modules.get("aegan.metrics.base"), "METRICS", None)
    return registry[metric].columns if registry is not None and metric in registry else ()


# readable names of logged series the dynamics metric is usually given (others show their key)
SERIES_NAMES = {"grad/generator/generator": "G grad (GAN loss)", "grad/vae/generator": "G grad (VAE step)",
                "grad/generator/term/adversarial": "G grad from D", "diag/d_fake": "D(fake)",
                "diag/alpha_l": "alpha_L", "diag/recon_error": "reconstruction error"}
DYNAMICS_STATS = {"step1": "step 1", "last": "last 10 % (median)", "mean": "mean, 2nd half", "std": "std, 2nd half",
                  "change": "mean abs change per step, 2nd half", "slow_std": "std of its moving average, 2nd half"}


def _dynamics_rank(key: str, keys: set[str]) -> tuple[int, str]:
    """Column order: the gradient's statistics, then the output's, then the other series' medians."""
    series, stat = key.rsplit("/", 1)
    if stat == "last" and f"{series}/step1" in keys:
        return 1, key  # the gradient's late median, beside its step 1
    order = {"step1": 0, "mean": 3, "std": 4, "change": 5, "slow_std": 6}
    return (2 if stat.startswith("steps_below_") else order.get(stat, 7)), key


def dynamics_column(key: str) -> tuple[str, str, str]:
    """A column of the dynamics metric: "dynamics/grad/generator/generator/step1" ->
    ("G grad (GAN loss): step 1", key, ".3g"); step counts without decimals."""
    series, stat = key[len("dynamics/"):].rsplit("/", 1)
    name = SERIES_NAMES.get(series, series)
    if stat.startswith("steps_below_"):
        return f"{name}: first step < {stat[len('steps_below_'):]} x step 1 (n/a: never)", key, ".0f"
    return f"{name}: {DYNAMICS_STATS.get(stat, stat)}", key, ".3g"


def _all_modes(run: dict[str, Any]) -> bool | None:
    for metric in MODE_METRICS:
        if f"{metric}/total_modes" in run["metrics"]:
            return run["metrics"][f"{metric}/modes"] == run["metrics"][f"{metric}/total_modes"]
    return None


@dataclass(frozen=True)
class Job:
    config_path: str
    method: str  # a registered method or a variant declared under ``methods:``
    seed: int
    run_dir: str
    overrides: tuple[tuple[str, Any], ...]
    point: tuple[tuple[str, Any], ...] = ()  # the job's grid point (--grid), applied after the overrides

    @property
    def row(self) -> str:
        """The job's row in a table: its method, with its grid point if any."""
        return row_label(self.method, self.point)

    def config(self):
        raw = apply_overrides(read_yaml(self.config_path), {**dict(self.overrides), **dict(self.point)})
        raw["method"] = method_spec(raw, self.method)
        raw.setdefault("train", {})
        raw["train"] = {**raw["train"], "seed": self.seed, "threads": 1}
        return build_config(raw)


def method_spec(raw: dict[str, Any], label: str) -> dict[str, Any]:
    """The ``method`` section for a column label of a comparison.

    A label is a registered method name, or a variant declared under ``methods:`` with a
    ``name`` key (``methods: {vlgan_b02: {name: vlgan, beta: 0.2}}``), so that one
    comparison can hold several settings of one method."""
    spec = (raw.get("methods") or {}).get(label)
    if isinstance(spec, dict) and "name" in spec:
        return dict(spec)
    return {"name": label}


def _same_run(saved: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a run directory's config is the wanted one, up to its step budget."""
    strip = lambda c: {**c, "train": {k: v for k, v in c["train"].items() if k != "steps"}}  # noqa: E731
    return strip(saved) == strip(wanted)


def run_job(job: Job) -> dict[str, Any]:
    """Train and evaluate one (config, method, seed); reuse a finished run, continue an
    unfinished one, and refuse a directory that holds a run with other settings."""
    from aegan.train import Trainer, open_run

    config = job.config()
    run_dir = Path(job.run_dir)
    saved_config = run_dir / "config.yaml"
    if saved_config.exists():
        saved = yaml.safe_load(saved_config.read_text())
        if not _same_run(saved, config.to_dict()):
            raise ConfigError(f"{run_dir} holds a run with other settings than {job.row} seed {job.seed} "
                              f"of {job.config_path}; pass another --out or delete that directory")
    done = _finished_result(job, config.train.steps)
    if done is not None:
        return done
    checkpoint = run_dir / "checkpoints" / "last.pt"
    if checkpoint.exists():
        trainer = open_run(run_dir, {"train.steps": config.train.steps})
    else:
        trainer = Trainer(config, run_dir)
    trainer.record_meta = {"benchmark": dataset_label(job.config_path), "label": job.row, "point": dict(job.point)}
    return trainer.fit(progress=False)


def run_or_note_divergence(job: Job) -> dict[str, Any]:
    """``run_job``, except that a run that diverges (exit 3 alone) becomes a result without
    metrics that says why (``diverged``), so that the comparison goes on and tabulates it."""
    from aegan.runlog import DivergenceError

    try:
        return run_job(job)
    except DivergenceError:
        done = _diverged_result(job, job.config().train.steps)
        if done is None:
            raise
        return done


def _diverged_result(job: Job, steps: int) -> dict[str, Any] | None:
    """The result of a run whose record says it diverged with this step budget, else None."""
    from aegan.records import read_record

    record = read_record(Path(job.run_dir) / "record.json")
    if record is None or record.get("status") != "diverged" or record.get("steps") != steps:
        return None
    return {"method": record["method"], "seed": record["seed"], "step": record["step"], "diverged": record["reason"],
            "protocol": record.get("data_protocol"), "time_per_step_ms": record["time_per_step_ms"], "metrics": {}}


def dataset_label(config_path: str) -> str:
    return Path(config_path).stem


def row_label(method: str, point: tuple[tuple[str, Any], ...]) -> str:
    """``nsgan`` or, for a grid point, ``nsgan[train.lr=0.001,model.depth=2]`` (also the run's directory name)."""
    if not point:
        return method
    return f"{method}[" + ",".join(f"{key}={_scalar_text(value)}" for key, value in point) + "]"


def _scalar_text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def parse_row_label(label: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The inverse of ``row_label``."""
    if not label.endswith("]") or "[" not in label:
        return label, ()
    method, _, inner = label[:-1].partition("[")
    pairs = (item.partition("=") for item in inner.split(","))
    return method, tuple((key, yaml.safe_load(value)) for key, _, value in pairs)


def grid_points(specs: list[str], sample: int | None = None, seed: int = 0) -> list[tuple[tuple[str, Any], ...]]:
    """The cartesian product of ``--grid key=[v1,v2,...]`` axes, in order; with ``sample``, that
    many points drawn without replacement by a fixed seed (the same points on every call)."""
    from aegan.config import parse_yaml

    axes: list[tuple[str, list[Any]]] = []
    for spec in specs:
        key, sep, text = spec.partition("=")
        try:
            values = parse_yaml(text) if sep else None
        except ConfigError:
            values = None
        if "." not in key or not isinstance(values, list) or not values:
            raise ConfigError(f"--grid {spec}: write section.key=[value, value, ...], e.g. --grid train.lr=[1e-4,1e-3]")
        bad = [v for v in values if isinstance(v, (list, dict)) or v is None or any(c in str(v) for c in "/,[]=")]
        if bad:
            raise ConfigError(f"--grid {key}: values must be numbers, booleans or plain words, got {bad[0]!r}")
        if key in dict(axes):
            raise ConfigError(f"--grid {key}: given twice")
        axes.append((key, values))
    points = [tuple(zip([k for k, _ in axes], combo)) for combo in itertools.product(*[v for _, v in axes])]
    if sample is not None:
        if not 0 < sample <= len(points):
            raise ConfigError(f"--sample: {sample} is not between 1 and the grid's {len(points)} points")
        points = [points[i] for i in sorted(random.Random(seed).sample(range(len(points)), sample))]
    return points


SEEDS_HELP = "a count N (seeds 0..N-1), a range A-B or a list A,B"


def parse_seeds(text: str | int) -> list[int]:
    """``--seeds``: a count N (seeds 0..N-1), a range ``A-B`` (A..B, both included) or a list
    ``A,B,...``: later seeds of a table run elsewhere (a cluster) merge with the first ones."""
    text = str(text).strip()
    try:
        if text.isdigit():
            seeds = list(range(int(text)))
        elif "-" in text.lstrip("-"):
            first, last = (int(part) for part in text.split("-", 1))
            seeds = list(range(first, last + 1))
        else:
            seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: give a count N (seeds 0..N-1, N >= 1), a range A-B or a list A,B,... "
                          "of distinct non-negative seeds")
    return seeds


def plan(configs: list[str], methods: list[str], seeds: int | Iterable[int], out: Path, overrides: dict[str, Any],
         points: list[tuple[tuple[str, Any], ...]] | None = None) -> list[Job]:
    """configs x methods x grid points x seeds, in that order (``--list`` numbers them so);
    ``seeds``: a count N (0..N-1) or the seeds themselves."""
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    jobs = [
        Job(c, m, s, str(out / dataset_label(c) / row_label(m, p) / f"seed{s}"), tuple(sorted(overrides.items())), p)
        for c in configs
        for m in methods
        for p in (points or [()])
        for s in seed_list
    ]
    for job in jobs:
        job.config()  # validate everything before starting any work
    return jobs


def _finished_result(job: Job, steps: int) -> dict[str, Any] | None:
    path = Path(job.run_dir) / "metrics.json"
    if not path.is_file():
        return _diverged_result(job, steps)
    done = json.loads(path.read_text())
    return done if done.get("step") == steps else None


def _measured_ms_per_step(jobs: list[Job]) -> dict[tuple[str, str], float]:
    """ms/step of the finished runs in the plan's directories, per (config, method): the
    costs a dry run estimates from."""
    costs: dict[tuple[str, str], list[float]] = {}
    for job in jobs:
        for metrics in Path(job.run_dir).parent.glob("seed*/metrics.json"):
            ms = json.loads(metrics.read_text()).get("time_per_step_ms")
            if ms:
                costs.setdefault((job.config_path, job.row), []).append(float(ms))
    return {key: float(np.median(values)) for key, values in costs.items()}


def job_costs(jobs: list[Job], configs: list | None = None) -> list[Cost]:
    """Each job's ms/step and where it comes from (``aegan.costs``): finished runs of its config
    and row in the plan's directories; else the cost table's ratio to NS-GAN times NS-GAN's
    ms/step on its config (finished NS-GAN runs there, else a few steps timed now)."""
    from aegan.costs import CALIBRATION_STEPS, REFERENCE, calibrate, protocol_of, ratio

    measured = _measured_ms_per_step(jobs)
    out = []
    for job, config in zip(jobs, configs or [None] * len(jobs)):
        ms = measured.get((job.config_path, job.row))
        if ms is not None:
            out.append(Cost(ms, "measured", "finished runs"))
            continue
        config = config or job.config()
        r, source = ratio(job.row, config.method.name, protocol_of(config))
        if r is None and _is_plugin_method(config.method.name):  # the shipped table cannot hold it: time it
            try:
                out.append(Cost(calibrate(config, own=True), "timed",
                                f"{job.row}, a plugin's method, timed here, {CALIBRATION_STEPS} steps"))
            except Exception as err:  # as for nsgan below: the plan is still printed
                reason = f"{job.row} could not be timed here: {type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
                out.append(Cost(None, "unknown", reason[:200]))
            continue
        if r is None:
            out.append(Cost(None, "unknown", f"{job.row} is not in the cost table and has no finished run"))
            continue
        ref = None
        if not job.point:  # finished NS-GAN runs of this config measured the reference on this machine
            ref = _measured_ms_per_step([Job(job.config_path, REFERENCE, 0, str(Path(job.run_dir).parent.parent
                                                                                 / REFERENCE / "seed0"), job.overrides)]
                                        ).get((job.config_path, REFERENCE))
        ref_source = "nsgan's finished runs" if ref is not None else f"nsgan timed here, {CALIBRATION_STEPS} steps"
        if ref is None:
            try:
                ref = calibrate(config)
            except Exception as err:  # e.g. a dataset not on this machine: the plan is still printed
                reason = f"nsgan could not be timed here: {type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
                out.append(Cost(None, "unknown", reason[:200]))
                continue
        out.append(Cost(r * ref, source, f"{r:.2f} x {ref:.2f} ms/step of {ref_source}"))
    return out


def _is_plugin_method(name: str) -> bool:
    """Whether a registered method comes from outside aegan (``aegan.plugins``)."""
    from aegan.methods import METHODS

    return not METHODS.owner(name).startswith("aegan.")


def describe_plan(jobs: list[Job], workers: int, estimate: bool = False) -> str:
    """The plan, one job per line with its index (what ``--job-index`` runs), and with
    ``estimate`` each job's state, expected time and the source of that estimate
    (``job_costs``), then the total compute and the wall time on ``workers`` workers."""
    configs = [j.config() for j in jobs] if estimate else []
    done = [_finished_result(j, c.train.steps) is not None for j, c in zip(jobs, configs)]
    todo = [(j, c) for j, c, d in zip(jobs, configs, done) if not d]
    cost_of = iter(job_costs([j for j, _ in todo], [c for _, c in todo]) if estimate else [])
    lines, durations, finished = [], [], 0
    sources: dict[str, int] = {}
    for index, job in enumerate(jobs):
        line = f"{index}\t{job.config_path}\t{job.row}\tseed {job.seed}\t{job.run_dir}"
        if estimate:
            steps = configs[index].train.steps
            if done[index]:
                finished += 1
                line += "\tfinished"
            else:
                cost = next(cost_of)
                sources[cost.kind] = sources.get(cost.kind, 0) + 1
                if cost.ms_per_step is None:
                    line += f"\tcost unknown ({cost.detail})"
                else:
                    seconds = steps * cost.ms_per_step / 1000
                    durations.append(seconds)
                    line += (f"\t~{seconds / 60:.1f} min ({cost.ms_per_step:.2f} ms/step x {steps}; "
                             f"{cost.source}: {cost.detail})")
        lines.append(line)
    if estimate:
        from aegan.costs import calibrations, makespan

        for c in calibrations([c for _, c in todo]):
            busy = c.device == "cpu" and c.wall_ms > 1.3 * c.cpu_ms
            lines.append(f"calibration: nsgan on {c.what}: {c.wall_ms:.2f} ms/step wall, {c.cpu_ms:.2f} ms/step "
                         f"CPU time on {c.device}" + (f" (the machine is busy: wall/CPU {c.wall_ms / c.cpu_ms:.1f}x; the "
                                          "estimate assumes it stays so)" if busy else ""))
        total = sum(durations)
        known = len(durations)
        unknown = sources.get("unknown", 0)
        lines.append(
            f"{len(jobs)} jobs: {finished} finished, {known} to run with an estimated cost "
            f"({sources.get('measured', 0)} from finished runs, {sources.get('table', 0)} from the cost table"
            + (f", {sources['timed']} timed here" if sources.get("timed") else "") + "), "
            f"{unknown} of unknown cost")
        lines.append(f"estimated time: ~{total / 3600:.2f} h of compute; ~{makespan(durations, workers) / 3600:.2f} h "
                     f"on --workers {workers} (jobs in plan order to the first free worker, each worker as fast "
                     f"as one run alone)" + (" + the jobs of unknown cost" if unknown else ""))
    return "\n".join(lines)


def run_all(jobs: list[Job], workers: int, progress: bool = True,
            on_done: Callable[[Job], None] | None = None) -> list[dict[str, Any]]:
    """Run the jobs (``workers`` processes), each job's result in plan order; ``on_done(job)`` is
    called in this process as each job ends, so what it keeps survives an interrupted plan."""
    results: dict[int, dict[str, Any]] = {}  # by position: a job's overrides may hold lists (unhashable)
    bar = tqdm(total=len(jobs), desc="runs", unit="run", disable=progress_disable(progress))

    def finished(i: int, result: dict[str, Any]) -> None:
        results[i] = result
        if on_done is not None:
            on_done(jobs[i])
        bar.update()

    if workers <= 1:
        for i, job in enumerate(jobs):
            finished(i, run_or_note_divergence(job))
    else:
        # each worker arms its parent-death signal, then loads this process's plugins (aegan.plugins)
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=worker_init,
                                   initargs=(os.getpid(), worker_specs()))
        try:
            with _interrupt_on_sigterm():
                futures = {pool.submit(run_or_note_divergence, job): i for i, job in enumerate(jobs)}
                for future in as_completed(futures):
                    finished(futures[future], future.result())
        except BaseException:
            for child in mp.active_children():  # end the workers now rather than after their runs
                child.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    bar.close()
    return [results[i] for i in range(len(jobs))]


@contextlib.contextmanager
def _interrupt_on_sigterm():
    """Turn SIGTERM into KeyboardInterrupt while workers run, so that the parent ends them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


INTERVAL_NOTES = {
    "t": "[a, b]: the 95 % confidence interval of the mean over seeds (Student t with n - 1 degrees of freedom on "
         "the sample standard deviation, ddof 1); a one-seed cell shows that seed's value alone (1 seed).",
    "bootstrap": "[a, b]: the 95 % bootstrap percentile interval of the mean over seeds (10,000 resamples of the "
                 "seeds, seeded; never wider than the seeds' range); a one-seed cell shows that seed's value alone "
                 "(1 seed).",
}


def format_value(value: float, digits: int | str) -> str:
    """A table cell's number: ``digits`` decimals, or a format spec such as ".3g" or ".2e"; a value
    that rounds to zero is written without a sign (an interval's rounding noise is not "-0")."""
    text = format(float(value), digits if isinstance(digits, str) else f".{digits}f")
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _mean_interval(values: list[float | None], digits: int | str, interval: str = "t") -> str:
    """"mean [low, high]" of the finite values (``digits``: decimals, or a format spec such as
    ".2e"), the interval ``stats.mean_interval``'s: by default the 95 % Student-t interval,
    mean ± t_{0.975, n-1} · s / sqrt(n) with s the sample standard deviation (ddof 1: divides
    by n - 1); values [1, 3] give "2.00 [-10.71, 14.71]" (t_{0.975, 1} = 12.71: two seeds
    bound a mean loosely). With one finite value there is no spread to estimate: the cell is
    that value, marked "(1 seed)". Non-finite or missing values are left out and counted."""
    from aegan.stats import finite, mean_interval

    kept = finite(values)
    if not len(kept):
        return "n/a"
    text = format_value(np.mean(kept), digits)
    bounds = mean_interval(kept, interval)
    notes = [] if bounds else ["1 seed"]
    if bounds:
        text += f" [{format_value(bounds[0], digits)}, {format_value(bounds[1], digits)}]"
    if len(kept) < len(values):
        notes.append(f"{len(values) - len(kept)} n/a")
    return text + (f" ({', '.join(notes)})" if notes else "")


def _cell(values: list[float | None], digits: int | str, aggregate: str = "mean", interval: str = "t") -> str:
    """A column's cell over seeds: ``mean`` with its interval, ``min`` (the worst seed) or
    ``plain`` (the mean alone: a cost column)."""
    if aggregate in ("min", "plain"):
        finite = [v for v in values if v is not None and math.isfinite(v)]
        return format_value(min(finite) if aggregate == "min" else sum(finite) / len(finite), digits) if finite else "n/a"
    return _mean_interval(values, digits, interval)


TERM_COLUMN = "gradient norm per loss term (last 10 % of steps)"


def term_gradients_of(job: Job, result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """A run's per-term gradient norms (``records.term_gradients``): from its result when it
    carries them (a record's series), else from the run directory's log; {} without
    ``train.grad_per_term``."""
    if "term_gradients" in result:
        return result["term_gradients"]
    return run_term_gradients(job.run_dir)


def run_term_gradients(run_dir: str | Path) -> dict[str, dict[str, float]]:
    """``records.term_gradients`` of a run directory's log; {} when its first step logged no
    term apart (no ``train.grad_per_term``: the log is not read further) or there is no log."""
    from aegan.records import read_log, term_gradients, thin_series

    log = Path(run_dir) / "log.jsonl"
    try:
        with open(log) as f:
            if "/term/" not in f.readline():
                return {}
    except OSError:
        return {}
    return term_gradients(thin_series(read_log(log)))


def term_text(balances: list[dict[str, dict[str, float]]]) -> str:
    """"generator: adversarial 2, geometric 81; ..." -- each term's norm, mean over the runs
    that logged it, 3 significant digits; "-" when no run logged per-term norms."""
    merged: dict[str, dict[str, list[float]]] = {}
    for balance in balances:
        for phase, terms in balance.items():
            for term, value in terms.items():
                merged.setdefault(phase, {}).setdefault(term, []).append(value)
    if not merged:
        return "-"
    return "; ".join(f"{phase}: " + ", ".join(f"{t} {float(np.mean(v)):.3g}" for t, v in terms.items())
                     for phase, terms in merged.items())


def table_header(label: str, protocol: Any, steps: int) -> list[str]:
    """A table's heading lines: its label, then its data protocol and number of steps."""
    return [f"### {label}", "", f"protocol: `{json.dumps(protocol, sort_keys=True)}`, {steps} steps", ""]


def table(jobs: list[Job], results: list[dict[str, Any]], extra_rows: dict[str, list[str]] | None = None,
          interval: str = "t") -> str:
    """A markdown table per config: a row per method with its number of seeds, the mean over
    seeds of each column with its 95 % interval (``interval``: "t" or "bootstrap", its
    ``INTERVAL_NOTES`` entry printed under each table), whether every seed found every mode,
    and ms per step. ``extra_rows`` appends ready-made rows (published references) under a
    config's label."""
    lines: list[str] = []
    for config_path in dict.fromkeys(j.config_path for j in jobs):
        rows = [(j, r) for j, r in zip(jobs, results) if j.config_path == config_path]
        first = next((r for _, r in rows if not r.get("diverged")), rows[0][1])
        columns = columns_for([r for _, r in rows])
        label = dataset_label(config_path)
        lines += table_header(label, first["protocol"], first["step"])
        balances = {id(r): term_gradients_of(j, r) for j, r in rows}
        with_terms = any(balances.values())
        with_modes = any(_all_modes(r) is not None for _, r in rows)  # a mode-counting metric was computed
        header = ["method", "seeds", *[c[0] for c in columns], *(["all modes in every seed"] if with_modes else []),
                  "ms/step", *([TERM_COLUMN] if with_terms else [])]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method in dict.fromkeys(j.row for j, _ in rows):
            runs = [r for j, r in rows if j.row == method]
            cells = [_cell([r["metrics"].get(c[1]) for r in runs], *c[2:], interval=interval) for c in columns]
            full = [_all_modes(r) for r in runs]
            full_text = ["n/a" if None in full else ("yes" if all(full) else "no")] if with_modes else []
            ms = np.mean([r["time_per_step_ms"] for r in runs])
            terms = [term_text([balances[id(r)] for r in runs])] if with_terms else []
            lines.append("| " + " | ".join([method, str(len(runs)), *cells, *full_text, f"{ms:.2f}", *terms]) + " |")
        for cells in (extra_rows or {}).get(label, []):
            padded = cells + [""] * (len(header) - len(cells))
            lines.append("| " + " | ".join(padded) + " |")
        lines += ["", INTERVAL_NOTES[interval], ""]
        diverged = [f"{j.row} seed {j.seed} ({r['diverged']})" for j, r in rows if r.get("diverged")]
        if diverged:
            lines += ["diverged (exit 3; no metrics, counted as n/a above): " + "; ".join(diverged), ""]
    return "\n".join(lines)


def finished_runs(configs: list[str], out: str | Path) -> tuple[list[Job], list[dict[str, Any]]]:
    """Every finished run under ``out`` for these configs (any labels, any seeds), in the
    order configs -> labels (sorted) -> seeds: the input of ``table`` for runs made by
    several ``compare`` calls into one directory."""
    jobs, results = [], []
    for config_path in configs:
        for metrics_path in sorted(Path(out, dataset_label(config_path)).glob("*/seed*/metrics.json"),
                                   key=lambda p: (p.parent.parent.name, int(p.parent.name[4:]))):
            result = json.loads(metrics_path.read_text())
            run_dir = metrics_path.parent
            method, point = parse_row_label(run_dir.parent.name)
            jobs.append(Job(config_path, method, int(run_dir.name[4:]), str(run_dir), (), point))
            results.append(result)
    return jobs, results


def figure(jobs: list[Job], out: Path) -> list[Path]:
    """Per config, one row of snapshots per method (its first seed), side by side."""
    from aegan.data import build_dataset
    from aegan.plots import image_grid, load_snapshots, scatter_rows

    paths = []
    for config_path in dict.fromkeys(j.config_path for j in jobs):
        first: dict[str, Job] = {}
        for j in jobs:
            if j.config_path == config_path and (j.row not in first or j.seed < first[j.row].seed):
                first[j.row] = j
        chosen = list(first.values())
        config = chosen[0].config()
        data = build_dataset(config.data.name, config.data.params, 0, "cpu")
        path = out / f"{dataset_label(config_path)}_samples.png"
        rows = [(j.row, load_snapshots(Path(j.run_dir) / "samples")) for j in chosen]
        rows = [r for r in rows if r[1]]
        if not rows:
            continue
        if hasattr(data, "centres"):
            scatter_rows(rows, data.centres.numpy(), path)
        elif len(data.shape) != 3:  # vectors without mode centres (a plugin's dataset): no figure
            continue
        else:  # images: the last snapshot of each method, one grid per method
            for method, snaps in rows:
                image_grid(snaps[-1][1], out / f"{dataset_label(config_path)}_{method}_samples.png")
            continue
        paths.append(path)
    return paths


def compare(configs: list[str], methods: list[str], seeds: int | Iterable[int], out: str | Path, workers: int = 2,
            overrides: dict[str, Any] | None = None, progress: bool = True,
            points: list[tuple[tuple[str, Any], ...]] | None = None, records: str | Path | None = None) -> str:
    """Run the plan, write results.md/results.json and the figures; with ``records``, also
    append each run's record to that records directory as the run ends (refused up front if
    its protocol differs), so an interrupted plan keeps the records of its finished runs."""
    out = Path(out)
    jobs = plan(configs, methods, seeds, out, overrides or {}, points)
    results = run_all(jobs, workers, progress, None if records is None else records_appender(jobs, records))
    text = table(jobs, results)
    atomic_write_text(out / "results.md", text)
    # one record per run (not aggregated): each seed's value of every metric is kept, under
    # "label" (the table's row: a method or a variant under ``methods:``), "seed", "metrics"
    atomic_write_json(out / "results.json", [{"config": j.config_path, "label": j.row, "run_dir": j.run_dir, **r}
                                             for j, r in zip(jobs, results)])
    figure(jobs, out)
    return text


def records_appender(jobs: list[Job], records: str | Path) -> Callable[[Job], None]:
    """``run_all``'s ``on_done`` that appends each finished run's record to the records
    directory, rows in the plan's order; refuses the plan first if its protocol is not the
    directory's (nothing has trained yet)."""
    from aegan.tables import append_records, check_plan_protocol

    check_plan_protocol(jobs, records)
    row_order = list(dict.fromkeys(j.row for j in jobs))

    def on_done(job: Job) -> None:
        for message in append_records([Path(job.run_dir)], records, row_order):
            print(f"aegan: {message}", file=sys.stderr)

    return on_done


# `aegan.compare(configs, methods, ...)` is the Python API's compare (aegan.api): this module,
# the package's attribute `compare` once imported, is callable as that function
from aegan.api import callable_module  # noqa: E402

callable_module(__name__)
