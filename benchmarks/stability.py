"""The stability experiments: vanishing gradients and undamped oscillation, with a table and a figure.

    # 002 Fig. 4: D trained alone against the fixed initial G, then GAN and VLGAN (each with
    # the minimax and the non-saturating G loss) train afresh from that D and G; G's
    # gradient from the GAN loss (and from the VAE step) every step
    python benchmarks/stability.py vanishing --scale cpu
    # 000 Fig. 4 / 6: GAN+AE trained first, then GAN+AE and GAN+AE+alpha_L continue from it;
    # D's mean output on generated data and G's gradient from D every step
    python benchmarks/stability.py oscillation --scale cpu
    # full scale (GPU): --scale full; any --section.key=value overrides the follow-up runs

Each experiment is two stages of ordinary runs (``aegan.compare``; finished runs are reused):
a pre-training run, then one run per method and seed that starts from its nets
(``train.init_from``). The follow-up runs' ``dynamics`` metric (aegan.metrics.dynamics, set in
the configs) reduces every logged step to the table's figures; the script writes
``OUT/<experiment>_<scale>.md`` (the records' table, as ``aegan tables`` prints it), ``.json``
(the per-step series) and ``.png``. ``--records DIR`` appends each follow-up run's record to a
records directory (docs/results/stability.md's tables: ``benchmarks/results/stability_cpu``).
Gradient norms are L2 norms over G's parameters (002 Fig. 4 plots the sum of absolute values).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Experiment:
    pretrain_method: str
    pretrain_overrides: dict  # on top of the experiment's config
    pretrain_steps: dict[str, int]  # per scale
    init_nets: list[str]  # copied from the pre-training run into every follow-up run
    methods: str  # default follow-up methods
    configs: dict[str, str] = field(default_factory=dict)  # per scale
    series: dict[str, str] = field(default_factory=dict)  # column label -> log key


EXPERIMENTS = {
    "vanishing": Experiment(
        pretrain_method="nsgan", pretrain_overrides={"train.freeze": ["generator"]},
        pretrain_steps={"cpu": 300, "full": 6000},  # full: 10 epochs of 60,000 / 100 (002 Sec. 4)
        init_nets=["generator", "discriminator"], methods="gan,vlgan,nsgan,vlgan_ns",
        configs={"cpu": "configs/stability/vanishing_mnist_cpu.yaml", "full": "configs/stability/vanishing_mnist.yaml"},
        series={"G grad (GAN loss)": "grad/generator/generator", "G grad (VAE)": "grad/vae/generator",
                "D(G(z))": "diag/d_fake"}),
    "oscillation": Experiment(
        pretrain_method="gan_ae", pretrain_overrides={},
        pretrain_steps={"cpu": 2000, "full": 6000},
        init_nets=["encoder", "generator", "discriminator", "latent_discriminator"],
        methods="gan_ae,gan_ae_decay,gan_ae_decay_a002",
        configs={"cpu": "configs/stability/oscillation_mnist_cpu.yaml", "full": "configs/stability/oscillation_mnist.yaml"},
        series={"D(H(x))": "diag/d_fake", "G grad from D": "grad/generator/term/adversarial",
                "alpha_L": "diag/alpha_l", "stage": "diag/stage", "reconstruction error": "diag/recon_error"}),
}


def read_series(run_dir: str | Path, keys: list[str], zero_when_absent: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Every step's value of each key in the run's log (the dynamics metric's reading: NaN
    where a step lacks it, 0 for a loss term the step did not compute)."""
    from aegan.metrics.dynamics import series
    from aegan.results.records import read_log

    return series(read_log(Path(run_dir) / "log.jsonl"), keys, zero_when_absent)


def figure(series_by_run: list[tuple[str, dict[str, np.ndarray]]], labels: dict[str, str], path: Path) -> None:
    from aegan.checkpoint import atomic_write
    from aegan.plots import _pyplot

    plt = _pyplot()
    keys = list(labels.items())[:2]
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4))
    for ax, (label, key) in zip(np.atleast_1d(axes), keys):
        for run_label, series in series_by_run:
            values = series[key]
            if np.isfinite(values).any():
                ax.plot(np.arange(1, len(values) + 1), values, label=run_label, lw=0.8)
        ax.set_xlabel("step after the warm start")
        ax.set_title(label)
        if key.startswith("grad/"):
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from aegan.checkpoint import atomic_write_json, atomic_write_text
    from aegan.compare import plan, records_appender, run_all
    from aegan.config import parse_overrides
    from aegan.results.tables import tables_markdown

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=sorted(EXPERIMENTS))
    p.add_argument("--scale", choices=["cpu", "full"], default="cpu")
    p.add_argument("--methods", help="comma-separated follow-up methods (default: the paper's)")
    p.add_argument("--seeds", type=int, default=1, help="follow-up runs per method (the pre-training run is one)")
    p.add_argument("--pretrain-steps", type=int, help="steps of the pre-training run (default: per scale)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "results" / "stability"))
    p.add_argument("--records", metavar="DIR", help="also append each follow-up run's record to this records "
                                                    "directory (docs/results/stability.md's tables: benchmarks/results/stability_cpu)")
    args, rest = p.parse_known_args(argv)
    exp = EXPERIMENTS[args.experiment]
    overrides = parse_overrides(rest)
    config = str(ROOT / exp.configs[args.scale])
    out = Path(args.out) / f"{args.experiment}_{args.scale}"
    started = time.perf_counter()

    pretrain_steps = args.pretrain_steps or exp.pretrain_steps[args.scale]
    (pre,) = plan([config], [exp.pretrain_method], 1, out / "pretrain",
                  {**exp.pretrain_overrides, "train.steps": pretrain_steps, "train.grad_per_term": False,
                   "eval.metrics": []})
    run_all([pre], 1)
    methods = [m for m in (args.methods or exp.methods).split(",") if m]
    # follow-up runs live under the pre-training length, so that a longer pre-training never
    # reuses runs that started from a shorter one
    follow = out / f"follow_pretrain{pretrain_steps}"
    jobs = plan([config], methods, args.seeds, follow,
                {"train.init_from": str(Path(pre.run_dir).resolve()), "train.init_nets": exp.init_nets, **overrides})
    run_all(jobs, args.workers, on_done=None if args.records is None else records_appender(jobs, args.records))

    keys = list(exp.series.values())
    zero = tuple(jobs[0].config().eval.params.get("dynamics", {}).get("zero_when_absent", ()))
    series_by_run = [(f"{j.method} seed {j.seed}", read_series(j.run_dir, keys, zero)) for j in jobs]
    header = (f"## {args.experiment} ({args.scale}): {Path(config).name}, pre-training {exp.pretrain_method} "
              f"for {pretrain_steps} steps{' with ' + str(exp.pretrain_overrides) if exp.pretrain_overrides else ''}, "
              f"then each method from its nets ({', '.join(exp.init_nets)})")
    # the follow-up runs' records, tabulated as any records are (the dynamics metric's columns)
    text = header + "\n\n" + tables_markdown([follow])[0]
    text += f"\nwall time {time.perf_counter() - started:.0f} s; figure: {out.name}.png\n"
    base = Path(args.out) / f"{args.experiment}_{args.scale}"
    atomic_write_text(base.with_suffix(".md"), text)
    atomic_write_json(base.with_suffix(".json"), {
        "experiment": args.experiment, "scale": args.scale, "config": config, "pretrain_run": pre.run_dir,
        "runs": [{"method": j.method, "seed": j.seed, "run_dir": j.run_dir,
                  "series": {k: [None if not np.isfinite(v) else float(v) for v in s[k]] for k in keys}}
                 for j, (_, s) in zip(jobs, series_by_run)]})
    figure(series_by_run, exp.series, base.with_suffix(".png"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
