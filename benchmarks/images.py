"""Image mode-collapse tables with the papers' numbers beside ours.

    # stacked MNIST (VEEGAN/PacGAN/GDPP protocol, 3x28x28; not 001's Table 2): modes out of 1000 and KL
    nice -n 10 python benchmarks/images.py stacked --scale cpu --methods nsgan,reg_gan --seeds 1 --workers 1
    # 001 Table 2: a number in one 64x64 image, four digit-probability sets: #Miss and KL
    nice -n 10 python benchmarks/images.py number001 --scale cpu --methods nsgan,reg_gan --seeds 1 --workers 1
    # 000 Table 2: missed modes on compositional MNIST (third-party discriminator)
    nice -n 10 python benchmarks/images.py compositional --scale cpu --methods gan,gan_ae --seeds 1 --workers 1
    # full scale (GPU): --scale full (compositional: epochs 20 and 50)
    # any --section.key=value after the options overrides every run's config (--train.amp=true)

Runs go through ``aegan.compare`` (finished runs are reused), then this script writes
``OUT/<table>_<scale>.md`` and ``.json`` with the mean over seeds and its 95 % interval, ms/step, the protocol,
the classifier's SHA-256, and per run a sample grid (the run's samples.png) and a latent
interpolation grid (``interpolation.png``, 000 Fig. 1). ``--records DIR`` also appends each
run's record to a records directory as the run ends: the image tables of docs/results/images.md are
``aegan tables benchmarks/results/images_cpu`` (its references.yaml holds the published anchors
and the real-data ceiling).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    ("stacked", "cpu"): ["configs/images/stacked_mnist_cpu.yaml"],
    ("stacked", "full"): ["configs/images/stacked_mnist.yaml"],
    ("compositional", "cpu"): ["configs/images/compositional_mnist_cpu.yaml"],
    ("compositional", "full"): ["configs/images/compositional_mnist.yaml", "configs/images/compositional_mnist_e50.yaml"],
    ("number001", "cpu"): ["configs/images/mnist_number_001_cpu.yaml"],
    ("number001", "full"): ["configs/images/mnist_number_001.yaml"],
}
DEFAULT_METHODS = {"stacked": "nsgan,reg_gan", "compositional": "gan,lsgan,gmmn,gan_mmd,gan_mb,unrolled,gan_ae",
                   "number001": "nsgan,reg_gan"}
# 001 Table 2's four columns: every run of number001 at each probability set (a grid point)
NUMBER_SETS = [1, 2, 3, 4]
POINTS = {"number001": [(("data.probability_set", k),) for k in NUMBER_SETS]}

# Published anchors on channel-stacked MNIST (3x28x28, 1000 uniform modes, 26k samples).
STACKED_ANCHORS = [
    ("DCGAN", "VEEGAN setting (VEEGAN Table 2 / PacGAN Table 2)", 99, 3.4),
    ("VEEGAN", "VEEGAN setting", 150, 2.95),
    ("PacGAN2", "VEEGAN setting (PacGAN Table 2)", 1000, 0.06),
    ("Reg-GAN", "GDPP setting (GDPP Table 2)", 955, 0.925),
]
# 001 Table 2 (mnist_number: a number in one 64x64 image, four probability sets): #Miss / KL,
# DCGAN = our nsgan, Reg-DCGAN = reg_gan.
TABLE2_001 = {"DCGAN": [(204.7, 77.9), (204.3, 60.2), (103.4, 75.9), (89.3, 77.8)],
              "Reg-DCGAN": [(32.1, 62.3), (71.5, 58.9), (42.7, 68.4), (31.6, 67.8)]}
# 000 Table 2: missed modes on compositional MNIST at epochs 20 and 50.
TABLE2_000 = {"gan": ("GAN", 154, 82), "lsgan": ("LSGAN", 142, 69), "gmmn": ("GMMN", 409, 408),
              "gan_mmd": ("GAN+MMD", 301, 76), "gan_mb": ("GAN+MB", 516, 79), "unrolled": ("GAN+UR", 136, 41),
              "gan_ae": ("GAN+AE", 52, 39)}
STEPS_PER_EPOCH = 600  # 60,000 images / batch 100 (the full-scale configs)


def _cell(values, digits):
    from aegan.results.cells import _mean_interval

    return _mean_interval(values, digits)


def term_balance(run_dir) -> str:
    """Each loss term's gradient norm over its phase's nets (``train.grad_per_term``), mean
    over the last 10 % of the logged steps: the balance each method trains with (e.g.
    "generator: adversarial 2.0, geometric 81"); the column ``aegan tables`` shows too."""
    from aegan.results.cells import run_term_gradients, term_text

    return term_text([run_term_gradients(run_dir)])


def _group(jobs, results):
    out: dict[str, dict[str, list]] = {}
    for job, res in zip(jobs, results):
        out.setdefault(job.config_path, {}).setdefault(job.method, []).append((job, res))
    return out


def _interpolations(jobs) -> None:
    from aegan.plots import interpolation_figure
    from aegan.train import open_run

    for job in jobs:
        if job.seed == 0 and not (Path(job.run_dir) / "interpolation.png").exists():
            trainer = open_run(job.run_dir)
            interpolation_figure(trainer, Path(job.run_dir) / "interpolation.png", rows=8, steps=10)


def _header(first) -> list[str]:
    from aegan.metrics.classifier import CLASSIFIER_SHA256, TEST_ACCURACY

    return [f"protocol: `{json.dumps(first['protocol'], sort_keys=True)}`, {first['step']} steps", "",
            f"classifier: sha256 `{CLASSIFIER_SHA256}` (MNIST test accuracy {TEST_ACCURACY:.4f})", ""]


def real_data_row(job) -> str:
    """The protocol (``job``'s data and eval.n_samples) applied to real stacked MNIST samples:
    the ceiling a model can reach."""
    from aegan.data import build_dataset
    from aegan.metrics.mnist import digits_of, product_scores, three_digit_mode_scores

    config = job.config()
    data = build_dataset(config.data.name, config.data.params, 0, "cpu")
    x = data.sample(config.eval.n_samples, seed=12345).x
    probs, digits = digits_of(data, x)
    modes = three_digit_mode_scores(data, x, digits)
    scores = product_scores(probs, data.mode_weights)
    return (f"| real data ({config.eval.n_samples} samples) | {modes['modes']:.0f} | {modes['kl']:.3f} | "
            f"{scores['mode_score']:.2f} | {scores['inception_score']:.1f} | - | - | - |")


def stacked_table(jobs, results) -> str:
    lines = ["## Stacked MNIST: modes captured (of 1000) and KL(p_generated || p_data)", ""]
    for config_path, by_method in _group(jobs, results).items():
        first_job, first = next(iter(by_method.values()))[0]
        lines += [f"### {Path(config_path).stem}", "", *_header(first)]
        head = ["method", "modes", "KL", "MODE score", "IS (1000 classes)", "seeds", "ms/step",
                "gradient norm per loss term, seed 0 (last 10 % of steps)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), real_data_row(first_job)]
        for method, runs in by_method.items():
            m = [r["metrics"] for _, r in runs]
            lines.append("| " + " | ".join([
                method, _cell([x.get("mnist_modes/modes") for x in m], 1), _cell([x.get("mnist_modes/kl") for x in m], 3),
                _cell([x.get("mode_score/mode_score") for x in m], 2),
                _cell([x.get("mode_score/inception_score") for x in m], 1), str(len(runs)),
                f"{np.mean([r['time_per_step_ms'] for _, r in runs]):.1f}", term_balance(runs[0][0].run_dir)]) + " |")
        lines.append("")
    from aegan.results.cells import INTERVAL_NOTES

    lines += [INTERVAL_NOTES["t"], "", "### Published numbers (not ours)", "", "| method | protocol | modes | KL |", "|---|---|---|---|"]
    lines += [f"| {m} | {p} | {modes} | {kl} |" for m, p, modes, kl in STACKED_ANCHORS]
    lines += ["", "001 Table 2 is another protocol (a number in one 64x64 image, four digit-probability sets): "
              "`python benchmarks/images.py number001`."]
    return "\n".join(lines) + "\n"


def _probability_set(job) -> int:
    return dict(job.point)["data.probability_set"]


def number_real_cell(job) -> str:
    """#Miss / KL of ``job``'s protocol on real samples (its set, eval.n_samples): the floor."""
    from aegan.data import build_dataset
    from aegan.metrics.mnist import three_digit_mode_scores

    config = job.config()
    data = build_dataset(config.data.name, config.data.params, 0, "cpu")
    scores = three_digit_mode_scores(data, data.sample(config.eval.n_samples, seed=12345).x)
    return f"{scores['missing']:.0f} / {scores['kl']:.3f}"


def number_table(jobs, results) -> str:
    lines = ["## 001 Table 2: a number in one 64x64 image, #Miss (numbers never generated, of 1000) / "
             "KL(p_generated || p_data)", "",
             "Probability sets (ours; 001 gives none): set k draws the first k-1 digits with weight d+1 for digit d, "
             "the others uniformly (src/aegan/data/mnist_number.py).", ""]
    for config_path, by_method in _group(jobs, results).items():
        set_jobs = {_probability_set(j): j for runs in by_method.values() for j, _ in runs}
        first = next(iter(by_method.values()))[0][1]
        lines += [f"### {Path(config_path).stem}", "", *_header(first),
                  "(the protocol of the first set; the others differ in probability_set and digit_weights only)", ""]
        head = ["method", *[f"set {k}: #Miss / KL" for k in NUMBER_SETS], "seeds", "ms/step"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                  "| real data | " + " | ".join(number_real_cell(set_jobs[k]) if k in set_jobs else "-"
                                                for k in NUMBER_SETS) + " | - | - |"]
        for method, runs in by_method.items():
            cells = []
            for k in NUMBER_SETS:
                m = [r["metrics"] for j, r in runs if _probability_set(j) == k]
                cells.append(f"{_cell([x.get('mnist_modes/missing') for x in m], 1)} / "
                             f"{_cell([x.get('mnist_modes/kl') for x in m], 3)}" if m else "-")
            seeds = len({j.seed for j, _ in runs})
            ms = np.mean([r["time_per_step_ms"] for _, r in runs])
            lines.append("| " + " | ".join([method, *cells, str(seeds), f"{ms:.1f}"]) + " |")
        lines.append("")
    from aegan.results.cells import INTERVAL_NOTES

    lines += [INTERVAL_NOTES["t"], "", "### 001 Table 2 (not ours; 001's KL exceeds log 1000, so it is not our KL in nats)", "",
              "| method | " + " | ".join(f"set {k}: #Miss / KL" for k in NUMBER_SETS) + " |",
              "|---|" + "---|" * len(NUMBER_SETS)]
    lines += [f"| {m} | " + " | ".join(f"{a} / {b}" for a, b in v) + " |" for m, v in TABLE2_001.items()]
    return "\n".join(lines) + "\n"


def compositional_table(jobs, results) -> str:
    lines = ["## Compositional MNIST: missed modes (of 1000)", "",
             "third-party D: modes whose mean output on held-out real data > 0.8 (000 Sec. 4.2); "
             "classifier: modes never generated", ""]
    for config_path, by_method in _group(jobs, results).items():
        first = next(iter(by_method.values()))[0][1]
        epoch = first["step"] / STEPS_PER_EPOCH
        paper_col = 1 if epoch <= 35 else 2
        sigma_keys = sorted({k for _, runs in by_method.items() for _, r in runs for k in r["metrics"]
                             if k.endswith("/missed_modes")})
        lines += [f"### {Path(config_path).stem}", "", *_header(first)]
        head = ["method", *[f"missed ({k.split('/')[0]}, {k.split('/')[1]})" for k in sigma_keys],
                f"000 Table 2, epoch {20 if paper_col == 1 else 50} (same estimator)", "classifier missing", "KL",
                "ms/step", "gradient norm per loss term, seed 0 (last 10 % of steps)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for method, runs in by_method.items():
            m = [r["metrics"] for _, r in runs]
            paper = TABLE2_000.get(method)
            lines.append("| " + " | ".join([
                method, *[_cell([x.get(k) for x in m], 1) for k in sigma_keys],
                f"{paper[0]}: {paper[paper_col]}" if paper else "-",
                _cell([x.get("mnist_modes/missing") for x in m], 1), _cell([x.get("mnist_modes/kl") for x in m], 3),
                f"{np.mean([r['time_per_step_ms'] for _, r in runs]):.1f}", term_balance(runs[0][0].run_dir)]) + " |")
        lines.append("")
    from aegan.results.cells import INTERVAL_NOTES

    lines += [INTERVAL_NOTES["t"], "", "### 000 Table 2 (not ours)", "", "| epoch | " + " | ".join(v[0] for v in TABLE2_000.values()) + " |",
              "|---|" + "---|" * len(TABLE2_000),
              "| 20 | " + " | ".join(str(v[1]) for v in TABLE2_000.values()) + " |",
              "| 50 | " + " | ".join(str(v[2]) for v in TABLE2_000.values()) + " |"]
    return "\n".join(lines) + "\n"


def main() -> int:
    from aegan.checkpoint import atomic_write_json, atomic_write_text
    from aegan.compare import SEEDS_HELP, parse_seeds, plan, records_appender, run_all

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", choices=["stacked", "compositional", "number001"])
    p.add_argument("--scale", choices=["cpu", "full"], default="cpu")
    p.add_argument("--methods", help="comma-separated (default: the paper's rows that exist)")
    p.add_argument("--seeds", type=parse_seeds, default="1", help=SEEDS_HELP)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", default="results/images")
    p.add_argument("--no-interpolation", action="store_true")
    p.add_argument("--records", metavar="DIR", help="also append each finished run's record to this records "
                                                    "directory (docs/results/images.md's tables: benchmarks/results/images_cpu)")
    args, rest = p.parse_known_args()
    from aegan.config import parse_overrides
    from aegan.methods import METHODS

    overrides = parse_overrides(rest)  # e.g. --train.steps=500 --eval.n_samples=5000, for every run

    methods = [m for m in (args.methods or DEFAULT_METHODS[args.table]).split(",") if m]
    missing = [m for m in methods if m not in METHODS]
    if missing and not args.methods:
        print(f"skipping methods not registered: {', '.join(missing)}", file=sys.stderr)
        methods = [m for m in methods if m in METHODS]
    configs = [str(ROOT / c) for c in CONFIGS[(args.table, args.scale)]]
    out = Path(args.out)
    started = time.perf_counter()
    jobs = plan(configs, methods, args.seeds, out / f"{args.table}_{args.scale}", overrides, POINTS.get(args.table))
    results = run_all(jobs, args.workers, on_done=None if args.records is None else records_appender(jobs, args.records))
    if not args.no_interpolation:
        _interpolations(jobs)
    tables = {"stacked": stacked_table, "compositional": compositional_table, "number001": number_table}
    text = tables[args.table](jobs, results)
    text += f"\nwall time {time.perf_counter() - started:.0f} s, {args.workers} worker(s)\n"
    atomic_write_text(out / f"{args.table}_{args.scale}.md", text)
    atomic_write_json(out / f"{args.table}_{args.scale}.json",
                      [{"config": j.config_path, "run_dir": j.run_dir, **r} for j, r in zip(jobs, results)])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
