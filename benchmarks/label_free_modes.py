"""The label-free mode metrics (``vendi``, ``rke``) against the classifier's mode count, on
real data whose modes are known: stacked MNIST restricted to k of its 1000 modes, and the 2D
mixtures restricted to j of their modes.

    python benchmarks/label_free_modes.py --out docs/results/label_free_modes.md

(921 s wall on the 2-core CPU machine while other runs shared it; the classifier features of
the 10,000 MNIST test digits took 39 s of it; each stacked row ~20-50 s.)

Stacked MNIST: for each k, k modes drawn at random (seeded) and n samples spread uniformly
over them (one row with Zipf weights p_j ~ 1/j over 100 modes), each digit an MNIST *test*
image of its class (the classifier was trained on the training split). Per row: the
classifier's count (``mnist_modes/modes``: modes with at least one sample) and the true
weights' effective numbers exp(H(p)) and 1/sum p^2 (what Vendi and RKE-MC give for
separated, narrow modes), then Vendi and RKE-MC on three feature spaces at their defaults:
the classifier's penultimate features (the metrics' default on MNIST-like data), its softmax
vectors (``classifier_probs``), and raw pixels (Vendi: cosine, the Vendi authors' pixel score;
RKE-MC: Gaussian, sigma ``--raw-bandwidth``). The MNIST test digits' classifier features are
computed once and the samples' features taken by index, which is what the metrics compute on
the composed images (the classifier reads each digit alone, in eval mode): the script checks
this once through the registered metrics on images and stops if they differ.

Inception features are left out by default: FID's Inception costs 0.3 s per image on this
2-core machine (1.4 s while other runs shared it), 10 minutes for one row of n = 2000.
``--inception-n N --inception-ks 1,10,...`` adds cosine-Vendi and RKE-MC rows on N Inception
features of stacked MNIST on k modes, with the classifier's count and the penultimate-feature
scores of the same images beside them.

2D: ring8 / grid25 samples (the data's own std) on j of the modes, n = 2500 (the configs'
``eval.n_samples``), against ``mixture/modes``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _effective(weights) -> tuple[float, float]:
    p = [w / sum(weights) for w in weights if w > 0]
    return math.exp(-sum(q * math.log(q) for q in p)), 1.0 / sum(q * q for q in p)


def stacked_rows(args, log) -> tuple[list[dict], dict]:
    import torch

    from aegan.data import DATASETS, build_dataset
    from aegan.metrics import EvalContext, evaluate
    from aegan.metrics.classifier import load_classifier
    from aegan.metrics.kernel_entropy import (CLASSIFIER_BANDWIDTH, CLASSIFIER_PROBS_BANDWIDTH, rke_mode_count,
                                              vendi_score)
    from aegan.metrics.mnist import mode_histogram_scores

    stacked = build_dataset("stacked_mnist", DATASETS["stacked_mnist"][0](), 0, "cpu")
    images, labels, counts, offsets = stacked._pool("test")
    if args.pool:  # the first ``pool`` test images of each digit (a quick run)
        keep = torch.cat([torch.arange(int(o), int(o) + min(int(c), args.pool)) for o, c in zip(offsets, counts)])
        images, labels = images[keep], labels[keep]
        counts = torch.bincount(labels, minlength=10)
        offsets = torch.cumsum(counts, 0) - counts
    started = time.perf_counter()
    net = load_classifier("cpu")
    with torch.no_grad():  # every test digit once: unit penultimate vector, softmax, argmax
        x = images.float().unsqueeze(1) / 255.0
        h = torch.cat([net.features(x[i: i + 1000]) for i in range(0, len(x), 1000)])
        pen = net.head[:3](h).double()
        probs = torch.softmax(net.head(h), dim=1).double()
    pen = pen / pen.norm(dim=1, keepdim=True).clamp_min(1e-12)
    digit_seconds = time.perf_counter() - started
    log(f"classifier features of {len(x)} test digits: {digit_seconds:.0f} s")

    def draw(modes, weights, n, seed):
        g = torch.Generator().manual_seed(seed)
        pick = torch.as_tensor(modes)[torch.multinomial(torch.as_tensor(weights, dtype=torch.float64), n, True,
                                                        generator=g)]
        digits = stacked.decode(pick)
        idx = offsets[digits] + (torch.rand(n, 3, generator=g, dtype=torch.float64) * counts[digits]).long()
        return idx

    # the shortcut equals the metrics on composed images (checked once, small n)
    idx = draw(list(range(0, 1000, 37)), [1.0] * 28, min(300, args.n), 99)
    composed = stacked.compose(images[idx])
    ctx = EvalContext(lambda m: composed[:m], stacked, len(composed), device="cpu")
    got = evaluate(ctx, ["vendi", "rke"])
    want = (vendi_score(pen[idx].flatten(1), "gaussian", CLASSIFIER_BANDWIDTH),
            rke_mode_count(pen[idx].flatten(1), "gaussian", CLASSIFIER_BANDWIDTH))
    if abs(got["vendi/vendi"] - want[0]) > 1e-6 * want[0] or abs(got["rke/rke_mc"] - want[1]) > 1e-6 * want[1]:
        raise SystemExit(f"feature shortcut differs from the metrics: {got} vs {want}")
    log(f"check: metrics on {len(idx)} composed images = shortcut (Vendi {want[0]:.3f}, RKE-MC {want[1]:.3f})")

    settings = [(k, "uniform") for k in args.ks] + [(100, "zipf")]
    rows = []
    for k, shape in settings:
        weights = [1.0] * k if shape == "uniform" else [1.0 / (j + 1) for j in range(k)]
        for seed in range(args.seeds):
            g = torch.Generator().manual_seed(1000 * seed + k)
            modes = torch.randperm(1000, generator=g)[:k].tolist()
            idx = draw(modes, weights, args.n, 1000 * seed + k + 1)
            pred = probs[idx].argmax(-1)
            hist = mode_histogram_scores(stacked.mode_id(pred), stacked.mode_weights)
            t = time.perf_counter()
            row = {"k": k, "weights": shape, "seed": seed, "n": args.n, "classifier_modes": hist["modes"],
                   "classifier_kl_uniform": hist["kl_uniform"],
                   "true_exp_entropy": _effective(weights)[0], "true_inverse_simpson": _effective(weights)[1]}
            for name, feats, bw in (("penultimate", pen[idx].flatten(1), CLASSIFIER_BANDWIDTH),
                                    ("probs", probs[idx].flatten(1), CLASSIFIER_PROBS_BANDWIDTH)):
                row[f"vendi_{name}"] = vendi_score(feats, "gaussian", bw)
                row[f"rke_{name}"] = rke_mode_count(feats, "gaussian", bw)
            pixels = stacked.compose(images[idx]).flatten(1).double()
            row["vendi_pixels_cosine"] = vendi_score(pixels, "cosine")
            row["rke_pixels"] = rke_mode_count(pixels, "gaussian", args.raw_bandwidth)
            row["seconds"] = time.perf_counter() - t
            rows.append(row)
            log(f"stacked k={k} {shape} seed {seed}: classifier {hist['modes']:.0f}, "
                f"Vendi {row['vendi_penultimate']:.1f} / {row['vendi_probs']:.1f} / {row['vendi_pixels_cosine']:.1f}, "
                f"RKE-MC {row['rke_penultimate']:.1f} / {row['rke_probs']:.1f} / {row['rke_pixels']:.1f} "
                f"({row['seconds']:.0f} s)")

    extra = {"digit_feature_seconds": digit_seconds}
    if args.inception_n:
        from aegan.metrics.inception import features, load_feature_net

        inception, _ = load_feature_net(None, "cpu")
        extra["inception"] = []
        for k in args.inception_ks:
            g = torch.Generator().manual_seed(k)
            modes = torch.randperm(1000, generator=g)[:k].tolist()
            idx = draw(modes, [1.0] * k, args.inception_n, k + 1)
            t = time.perf_counter()
            f = features(inception, stacked.compose(images[idx]), 50, "cpu")
            pred = probs[idx].argmax(-1)
            out = {"k": k, "n": args.inception_n,
                   "classifier_modes": mode_histogram_scores(stacked.mode_id(pred), stacked.mode_weights)["modes"],
                   "vendi_cosine": vendi_score(f, "cosine"), "rke_gaussian10": rke_mode_count(f, "gaussian", 10.0),
                   "vendi_penultimate": vendi_score(pen[idx].flatten(1), "gaussian", CLASSIFIER_BANDWIDTH),
                   "rke_penultimate": rke_mode_count(pen[idx].flatten(1), "gaussian", CLASSIFIER_BANDWIDTH),
                   "seconds": time.perf_counter() - t}
            extra["inception"].append(out)
            log(f"inception k={k}: {out}")
    return rows, extra


def mixture_rows(args, log) -> list[dict]:
    import torch

    from aegan.data import DATASETS, build_dataset
    from aegan.metrics import EvalContext, evaluate

    rows = []
    for name, js in (("ring8", (1, 2, 4, 8)), ("grid25", (1, 5, 10, 25))):
        data = build_dataset(name, DATASETS[name][0](), 0, "cpu")
        for j in js:
            g = torch.Generator().manual_seed(j)
            modes = torch.randperm(len(data.centres), generator=g)[:j]
            pick = modes[torch.randint(j, (2500,), generator=g)]
            x = data.centres[pick] + data.std * torch.randn(2500, 2, generator=g)
            out = evaluate(EvalContext(lambda m, x=x: x[:m], data, 2500), ["mixture", "vendi", "rke"])
            rows.append({"data": name, "j": j, "mixture_modes": out["mixture/modes"], "vendi": out["vendi/vendi"],
                         "rke_mc": out["rke/rke_mc"], "bandwidth": out["rke/bandwidth"]})
            log(f"{name} j={j}: {rows[-1]}")
    return rows


def _mean_sd(values: list[float]) -> str:
    m = sum(values) / len(values)
    if len(values) < 2:
        return f"{m:.1f}"
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{m:.1f} ± {sd:.1f}"


def markdown(rows: list[dict], mixtures: list[dict], extra: dict, args, seconds: float, machine: str,
             commit: str) -> str:
    from aegan.metrics.kernel_entropy import CLASSIFIER_BANDWIDTH, CLASSIFIER_PROBS_BANDWIDTH

    lines = ["# Label-free mode metrics (Vendi, RKE-MC) against the classifier's mode count", "",
             f"Generated by `python benchmarks/label_free_modes.py {' '.join(args.argv)}`; "
             f"wall time {seconds:.0f} s; machine: {machine}; commit {commit}.", "",
             f"## Stacked MNIST restricted to k modes (n = {args.n} real samples, MNIST test digits; mean ± sd over "
             f"{args.seeds} draws of the modes and samples)", "",
             "Columns: the classifier's count (modes with >= 1 sample) and, from the *true* mode weights, the effective "
             "numbers exp(H) and 1/sum p^2 that Vendi and RKE-MC give for separated, narrow modes; then Vendi and "
             f"RKE-MC on the classifier's unit penultimate features (Gaussian sigma {CLASSIFIER_BANDWIDTH}, the "
             f"metrics' default on MNIST-like data), on its softmax vectors (sigma {CLASSIFIER_PROBS_BANDWIDTH}) "
             f"and on pixels (Vendi: cosine; RKE-MC: Gaussian sigma {args.raw_bandwidth}, pixels in [0, 1]).", "",
             "| k | weights | classifier modes | exp(H) true | 1/sum p^2 true | Vendi penult. | RKE-MC penult. | "
             "Vendi softmax | RKE-MC softmax | Vendi pixels (cos) | RKE-MC pixels |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = ("classifier_modes", "true_exp_entropy", "true_inverse_simpson", "vendi_penultimate", "rke_penultimate",
            "vendi_probs", "rke_probs", "vendi_pixels_cosine", "rke_pixels")
    settings = list(dict.fromkeys((r["k"], r["weights"]) for r in rows))
    for k, shape in settings:
        group = [r for r in rows if r["k"] == k and r["weights"] == shape]
        lines.append(f"| {k} | {shape} | " + " | ".join(_mean_sd([r[key] for r in group]) for key in keys) + " |")
    if extra.get("inception"):
        lines += ["", f"## Inception features (FID's TF network, pool3) of stacked MNIST on k modes, n = "
                  f"{extra['inception'][0]['n']}", "",
                  "| k | classifier modes | Vendi Inception (cosine) | RKE-MC Inception (sigma 10) | "
                  "Vendi penult. | RKE-MC penult. | seconds (Inception) |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['k']} | {r['classifier_modes']:.0f} | {r['vendi_cosine']:.2f} | {r['rke_gaussian10']:.2f} | "
                  f"{r['vendi_penultimate']:.1f} | {r['rke_penultimate']:.1f} | {r['seconds']:.0f} |"
                  for r in extra["inception"]]
    if mixtures:
        lines += ["", "## 2D mixtures restricted to j modes (n = 2500, the data's own std; defaults: Gaussian sigma = "
                  "15 component stds)", "", "| data | j | mixture/modes | Vendi | RKE-MC | sigma |",
                  "|---|---|---|---|---|---|"]
    for r in mixtures:
        lines.append(f"| {r['data']} | {r['j']} | {r['mixture_modes']:.0f} | {r['vendi']:.2f} | {r['rke_mc']:.2f} | "
                     f"{r['bandwidth']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000, help="samples per stacked-MNIST row (default 2000)")
    p.add_argument("--ks", type=lambda s: [int(v) for v in s.split(",")], default=[1, 3, 10, 30, 100, 300, 1000])
    p.add_argument("--seeds", type=int, default=2, help="draws of modes and samples per row (default 2)")
    p.add_argument("--raw-bandwidth", type=float, default=8.0, help="RKE-MC's sigma on pixels (default 8)")
    p.add_argument("--inception-n", type=int, default=0, help="Inception rows on this many images (default: none)")
    p.add_argument("--inception-ks", type=lambda s: [int(v) for v in s.split(",")], default=[1, 1000],
                   help="the k of the Inception rows (default 1,1000)")
    p.add_argument("--pool", type=int, default=0, help="test images per digit to draw from (default: all)")
    p.add_argument("--no-mixtures", action="store_true")
    p.add_argument("--out", help="write the markdown table here (and the numbers to the same name .json)")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)

    import torch

    from aegan.results.records import machine_summary

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.perf_counter()
    rows, extra = stacked_rows(args, log)
    mixtures = [] if args.no_mixtures else mixture_rows(args, log)
    seconds = time.perf_counter() - started
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    text = markdown(rows, mixtures, extra, args, seconds, f"{machine_summary()}, {torch.get_num_threads()} threads",
                    commit)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps({"stacked": rows, "mixtures": mixtures, **extra,
                                                        "args": vars(args), "seconds": seconds}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
