"""Train several methods over several seeds on one or more configs and tabulate the results.

Runs are independent, so they go to a pool of worker processes (one torch thread each);
a run whose ``metrics.json`` is already complete is skipped, so an interrupted comparison
picks up where it stopped.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing as mp
import os
import random
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import yaml
from tqdm.auto import tqdm

from aegan.checkpoint import atomic_write_json, atomic_write_text
from aegan.plugins import worker_init, worker_specs
from aegan.progress import disable as progress_disable
from aegan.config import ConfigError
from aegan.results.cells import table
from aegan.results.rows import Job, dataset_label, parse_row_label, row_label
from aegan.costs import Cost

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
    from aegan.results.records import read_record

    record = read_record(Path(job.run_dir) / "record.json")
    if record is None or record.get("status") != "diverged" or record.get("steps") != steps:
        return None
    return {"method": record["method"], "seed": record["seed"], "step": record["step"], "diverged": record["reason"],
            "protocol": record.get("data_protocol"), "time_per_step_ms": record["time_per_step_ms"], "metrics": {}}


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
    from aegan.costs import CALIBRATION_STEPS, REFERENCE, calibrate, cost_protocol, ratio

    measured = _measured_ms_per_step(jobs)
    out = []
    for job, config in zip(jobs, configs or [None] * len(jobs)):
        ms = measured.get((job.config_path, job.row))
        if ms is not None:
            out.append(Cost(ms, "measured", "finished runs"))
            continue
        config = config or job.config()
        r, source = ratio(job.row, config.method.name, cost_protocol(config))
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
    return run_plan(plan(configs, methods, seeds, out, overrides or {}, points), out, workers, progress, records)


def run_plan(jobs: list[Job], out: str | Path, workers: int = 2, progress: bool = True,
             records: str | Path | None = None) -> str:
    """``compare`` on a plan already built (``plan``): run it, write the table and figures."""
    out = Path(out)
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
    directory, rows in the plan's order; refuses the plan first (nothing has trained yet) if its
    protocol is not the directory's or it would replace a record the directory holds."""
    from aegan.results.tables import append_records, check_plan_for_records

    check_plan_for_records(jobs, records)
    row_order = list(dict.fromkeys(j.row for j in jobs))

    def on_done(job: Job) -> None:
        for message in append_records([Path(job.run_dir)], records, row_order):
            print(f"aegan: {message}", file=sys.stderr)

    return on_done
