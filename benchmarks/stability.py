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
(``train.init_from``). The script reads every step of the follow-up runs' logs and writes
``OUT/<experiment>_<scale>.md`` (the table), ``.json`` (the per-step series) and ``.png``.
Gradient norms are L2 norms over G's parameters (002 Fig. 4 plots the sum of absolute values).
"""

from __future__ import annotations

import argparse
import json
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


def read_series(run_dir: str | Path, keys: list[str]) -> dict[str, np.ndarray]:
    """Every step's value of each key in the run's log (NaN where a step lacks it)."""
    rows = [json.loads(line) for line in (Path(run_dir) / "log.jsonl").read_text().splitlines() if line.strip()]
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=float) for k in keys}


def fill_stage_one(series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GAN+AE+alpha_L has no adversarial G update in stage 1: its gradient from D is 0 there."""
    adv, stage = series.get("grad/generator/term/adversarial"), series.get("diag/stage")
    if adv is not None and stage is not None:
        series["grad/generator/term/adversarial"] = np.where(np.isnan(adv) & (stage == 1), 0.0, adv)
    return series


def first_step_below(values: np.ndarray, fraction: float) -> int | None:
    """The first step whose value is below ``fraction`` of the first step's (None: never)."""
    if len(values) == 0 or not np.isfinite(values[0]):
        return None
    hits = np.nonzero(values < fraction * values[0])[0]
    return int(hits[0]) + 1 if len(hits) else None


def oscillation(values: np.ndarray, window: int = 20) -> tuple[float, float, float]:
    """Over the second half of a series: (std, mean |step-to-step change|, std of its
    ``window``-step moving average: the slow swings, with the batch-to-batch noise averaged out)."""
    tail = values[len(values) // 2:]
    tail = tail[np.isfinite(tail)]
    if len(tail) < 2:
        return float("nan"), float("nan"), float("nan")
    smooth = np.convolve(tail, np.ones(window) / window, mode="valid") if len(tail) >= window else tail[:0]
    return float(tail.std()), float(np.abs(np.diff(tail)).mean()), float(smooth.std()) if len(smooth) > 1 else float("nan")


def summarize(name: str, series: dict[str, np.ndarray]) -> dict[str, float | int | None]:
    """The table's figures for one run's series."""
    def tail_median(key: str) -> float:
        v = series[key]
        v = v[len(v) * 9 // 10:]
        return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")

    if name == "vanishing":
        grad = series["grad/generator/generator"]
        return {"grad_first": float(grad[0]), "grad_last": tail_median("grad/generator/generator"),
                "steps_to_1pct": first_step_below(grad, 0.01), "vae_grad_last": tail_median("grad/vae/generator"),
                "d_fake_last": tail_median("diag/d_fake")}
    std, swing, slow = oscillation(series["diag/d_fake"])
    d_fake = series["diag/d_fake"]
    return {"d_fake_mean": float(np.nanmean(d_fake[len(d_fake) // 2:])), "d_fake_std": std, "d_fake_swing": swing,
            "d_fake_slow": slow, "adv_grad_last": tail_median("grad/generator/term/adversarial"),
            "alpha_l_last": tail_median("diag/alpha_l"), "stage_last": tail_median("diag/stage"),
            "recon_error_last": tail_median("diag/recon_error")}


COLUMNS = {
    "vanishing": [("G grad, GAN loss, step 1", "grad_first", "e"), ("G grad, GAN loss, last 10 %", "grad_last", "e"),
                  ("steps until < 1 % of step 1", "steps_to_1pct", 0), ("G grad, VAE, last 10 %", "vae_grad_last", 3),
                  ("D(G(z)), last 10 %", "d_fake_last", "e"), ("MODE score at the end", "mode_score", 2)],
    "oscillation": [("mean D(H(x)), 2nd half", "d_fake_mean", 3), ("std of D(H(x)), 2nd half", "d_fake_std", 4), ("mean abs change of D(H(x)) per step", "d_fake_swing", 4),
                    ("std of its 20-step moving average", "d_fake_slow", 4),
                    ("G grad from D, last 10 %", "adv_grad_last", 4), ("alpha_L, last 10 %", "alpha_l_last", 3),
                    ("stage (alpha_L methods)", "stage_last", 0), ("reconstruction error, last 10 %", "recon_error_last", 2),
                    ("MODE score at the end", "mode_score", 2)],
}


def _cell(values: list, digits: int | str) -> str:
    """Mean ± std over seeds (``compare``'s cells; digits "e" for scientific notation); in a
    step-count column None means "never"."""
    from aegan.compare import _mean_std

    if any(v is None for v in values):
        never = sum(v is None for v in values)
        found = [v for v in values if v is not None]
        return f"never ({never} of {len(values)})" if not found else f"{np.mean(found):.0f}; never in {never}"
    return _mean_std(values, ".2e" if digits == "e" else digits)


def table(name: str, by_method: dict[str, list[dict]], header: str) -> str:
    cols = COLUMNS[name]
    lines = [header, "", "| method | seeds | " + " | ".join(c for c, _, _ in cols) + " |", "|" + "---|" * (len(cols) + 2)]
    for method, rows in by_method.items():
        lines.append(f"| {method} | {len(rows)} | " + " | ".join(_cell([r[k] for r in rows], d) for _, k, d in cols) + " |")
    from aegan.compare import STD_NOTE

    return "\n".join(lines + ["", STD_NOTE]) + "\n"


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
    from aegan.compare import plan, run_all
    from aegan.config import parse_overrides

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=sorted(EXPERIMENTS))
    p.add_argument("--scale", choices=["cpu", "full"], default="cpu")
    p.add_argument("--methods", help="comma-separated follow-up methods (default: the paper's)")
    p.add_argument("--seeds", type=int, default=1, help="follow-up runs per method (the pre-training run is one)")
    p.add_argument("--pretrain-steps", type=int, help="steps of the pre-training run (default: per scale)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "results" / "stability"))
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
    jobs = plan([config], methods, args.seeds, out / f"follow_pretrain{pretrain_steps}",
                {"train.init_from": str(Path(pre.run_dir).resolve()), "train.init_nets": exp.init_nets, **overrides})
    results = run_all(jobs, args.workers)

    keys = list(exp.series.values())
    by_method: dict[str, list[dict]] = {}
    series_by_run = []
    for job, result in zip(jobs, results):
        series = fill_stage_one(read_series(job.run_dir, keys))
        summary = summarize(args.experiment, series)
        summary["mode_score"] = result.get("metrics", {}).get("mode_score/mode_score", float("nan"))
        by_method.setdefault(job.method, []).append(summary)
        series_by_run.append((f"{job.method} seed {job.seed}", series))
    header = (f"## {args.experiment} ({args.scale}): {Path(config).name}, pre-training {exp.pretrain_method} "
              f"for {pretrain_steps} steps{' with ' + str(exp.pretrain_overrides) if exp.pretrain_overrides else ''}, "
              f"then each method from its nets ({', '.join(exp.init_nets)})")
    text = table(args.experiment, by_method, header)
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
