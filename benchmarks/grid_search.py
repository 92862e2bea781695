"""001 Table 1 / Fig. 3: GAN vs Reg-GAN over a grid of nets and optimisers on MNIST.

    python benchmarks/grid_search.py --sample 16 --workers 2          # CPU scale, 16 grid points
    python benchmarks/grid_search.py --sample 200 --train.steps=20000  # closer to the paper (GPU)

The same sampled grid points run for both methods (through ``aegan compare --grid``, so
finished runs are reused and an interrupted search continues). Writes OUT/grid_search.md
(per method: settings, MODE score quantiles, share of settings above fixed thresholds,
the paired share where Reg-GAN beats GAN) and OUT/grid_search.png (histograms of MODE
scores, 001 Fig. 3's view).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "configs/images/mnist_grid_cpu.yaml"
GRID = [  # 001 Table 1
    "model.g_depth=[2,3,4]", "model.d_depth=[2,3,4]", "model.g_hidden=[400,800,1600,3200]",
    "model.d_hidden=[256,512,1024]", "model.d_dropout=[0.5,0]",
    "train.net_optimizers.generator=[sgd,adam]", "train.net_optimizers.discriminator=[sgd,adam]",
    "train.lr=[1e-2,1e-3,1e-4]",
]
# 001's GAN is the non-saturating one: Eq. 1 writes G's target as -E log D(G(z)) and Sec. 2
# calls it the "traditional" generator target; Reg-GAN adds its regularisers to that form.
BASELINE = "nsgan"
THRESHOLDS = (5.0, 8.0)  # ours, not the paper's: the real-data row gives the ceiling


def real_data_scores(n: int) -> dict[str, float]:
    """MODE score and IS of ``n`` real training images: the ceiling of the protocol."""
    from aegan.config import load_config
    from aegan.data import build_dataset
    from aegan.metrics.classifier import digit_probabilities
    from aegan.metrics.mnist import classifier_scores

    config = load_config(str(ROOT / CONFIG), {})
    data = build_dataset(config.data.name, config.data.params, 0, "cpu")
    x = data.sample(n, seed=12345).x
    return classifier_scores(digit_probabilities(x.float()), data.label_weights)


def summary_table(by_method: dict[str, dict[tuple, float]]) -> str:
    head = ["method", "settings", "median MODE", "quartiles", "best", *[f"share >= {t:g}" for t in THRESHOLDS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, scores in by_method.items():
        v = np.array(list(scores.values()))
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        shares = [f"{np.mean(v >= t):.2f}" for t in THRESHOLDS]
        lines.append(f"| {method} | {len(v)} | {med:.2f} | {q1:.2f} - {q3:.2f} | {v.max():.2f} | " + " | ".join(shares) + " |")
    if {BASELINE, "reg_gan"} <= by_method.keys():
        shared = by_method[BASELINE].keys() & by_method["reg_gan"].keys()
        wins = sum(by_method["reg_gan"][p] > by_method[BASELINE][p] for p in shared)
        lines += ["", f"Reg-GAN's MODE score is higher than the GAN's ({BASELINE}) in {wins} of {len(shared)} settings (paired by grid point)."]
    return "\n".join(lines)


def histogram(by_method: dict[str, dict[tuple, float]], path: Path) -> None:
    from aegan.plots import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(0, 10, 21)
    for method, scores in by_method.items():
        ax.hist(list(scores.values()), bins=bins, alpha=0.55, label=f"{method} ({len(scores)} settings)")
    ax.set_xlabel("MODE score (MNIST classifier)")
    ax.set_ylabel("settings")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from aegan.compare import SEEDS_HELP, compare, finished_runs, grid_points, parse_seeds
    from aegan.config import parse_overrides
    from aegan.results.records import machine_summary

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default=f"{BASELINE},reg_gan")
    p.add_argument("--sample", type=int, default=16, help="grid points (of 2592), the same for every method")
    p.add_argument("--seeds", type=parse_seeds, default="1", help=SEEDS_HELP)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="results/grid_search")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--records", metavar="DIR", help="also append each finished run's record to this records "
                                                    "directory (aegan tables shows the distribution over the grid)")
    args, rest = p.parse_known_args()
    overrides = parse_overrides(rest)
    out = Path(args.out)
    started = time.time()
    compare([str(ROOT / CONFIG)], args.methods.split(","), args.seeds, out, args.workers, overrides,
            not args.no_progress, grid_points(GRID, args.sample), records=args.records)
    jobs, results = finished_runs([str(ROOT / CONFIG)], out)
    by_method: dict[str, dict[tuple, float]] = {}
    for job, result in zip(jobs, results):
        score = result["metrics"].get("mode_score/mode_score")
        if score is not None and np.isfinite(score):
            by_method.setdefault(job.method, {})[(job.point, job.seed)] = score
    text = "\n".join([
        "## 001 Table 1 / Fig. 3: MODE scores over a grid of nets and optimisers (MNIST)", "",
        f"{args.sample} points of Table 1's 2592, drawn with a fixed seed, the same for each method; "
        f"{results[0]['step'] if results else '?'} steps; machine: {machine_summary()}", "",
        summary_table(by_method), "",
        "real data ({n} images): MODE score {mode_score:.2f}, IS {inception_score:.2f}".format(
            n=10000, **real_data_scores(10000)), "",
        f"wall time {time.time() - started:.0f} s, {args.workers} worker(s)"])
    (out / "grid_search.md").write_text(text + "\n")
    (out / "grid_search.json").write_text(json.dumps({m: [{"point": dict(k[0]), "seed": k[1], "mode_score": v}
                                                          for k, v in s.items()] for m, s in by_method.items()}, indent=1))
    histogram(by_method, out / "grid_search.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
