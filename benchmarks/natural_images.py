"""Natural-image tables of the seed papers, ours beside the published numbers.

    # offline stand-in for 003 Table 3's CIFAR-10 column (Fashion-MNIST, Debian's package)
    nice -n 10 python benchmarks/natural_images.py fashion_standin --scale cpu --seeds 3 --workers 1
    # the papers' experiments (need the datasets under data.root; --scale full on a GPU)
    python benchmarks/natural_images.py cifar10_table3 --scale full --seeds 3 --data.root=~/data
    python benchmarks/natural_images.py cifar10_resnet | celeba_table6 | celeba_vlgan | celeba_mdgan ...
    # any --section.key=value after the options overrides every run's config (--train.steps=500)

Runs go through ``aegan.compare`` (finished runs are reused; an interrupted table continues;
``--records DIR`` also appends each finished run's record to a records directory), then this
script writes ``OUT/<table>_<scale>.md`` and ``.json``: per method mean ± sample std over seeds of each metric, ms/step, then the papers' rows from ``benchmarks/references.yaml``
("paper"), and a header with the machine, steps, sample counts, seeds and wall time.

Per-method optimiser settings that one config cannot hold (003 Table 2: AGE's beta2 0.999,
alpha-GAN's lr 5e-4) are applied here as overrides of those rows (``METHOD_OVERRIDES``) and
printed under the table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ROOT / "benchmarks" / "references.yaml"

STANDIN_NOTE = ("**Stand-in for 003 Table 3's CIFAR-10 column, not CIFAR-10**: Fashion-MNIST (1x28x28 grey, "
                "Debian's dataset-fashion-mnist) through the CIFAR-10 protocol's net (003 Fig. 4's DCGAN layout, "
                "1 channel), optimiser and FID; the paper rows are 003's CIFAR-10 FIDs and are not comparable in "
                "value, only in the order of the methods.")

# table -> configs per scale, default methods, the references' config, columns (metric key, header, format)
FID_COLUMNS = [("fid/fid", "FID", ".2f"), ("fid/kid", "KID", ".4f")]
TABLES: dict[str, dict[str, Any]] = {
    "fashion_standin": {
        "configs": {"cpu": "configs/images/fashion_mnist_standin_cpu.yaml",
                    "full": "configs/images/fashion_mnist_standin.yaml"},
        "methods": "nsgan,gan_rl", "references": "cifar10_table3", "columns": FID_COLUMNS, "note": STANDIN_NOTE},
    "cifar10_table3": {
        "configs": {"cpu": "configs/images/cifar10_table3_cpu.yaml", "full": "configs/images/cifar10_table3.yaml"},
        "methods": "nsgan,gan_rl,dragan,age,alpha_gan", "references": "cifar10_table3", "columns": FID_COLUMNS},
    "cifar10_resnet": {
        "configs": {"cpu": "configs/images/cifar10_resnet_cpu.yaml", "full": "configs/images/cifar10_resnet.yaml"},
        "methods": "gan_rl,wgan_gp", "references": "cifar10_resnet",
        "columns": [*FID_COLUMNS, ("inception_score/inception_score", "IS", ".2f")]},
    "celeba_table6": {
        "configs": {"cpu": "configs/images/celeba_table6_cpu.yaml", "full": "configs/images/celeba_table6.yaml"},
        "methods": "nsgan,gan_rl,dragan,dragan_rl,gan_gp,gan_gp_rl", "references": "celeba_table6",
        "columns": FID_COLUMNS},
    "celeba_vlgan": {
        "configs": {"cpu": "configs/images/celeba_vlgan_cpu.yaml", "full": "configs/images/celeba_vlgan.yaml"},
        "methods": "nsgan,vlgan,alpha_gan", "references": "celeba_vlgan",
        # 002 reads MS-SSIM as quality (higher better): the published rows compare on that
        # reading; the collapse reading ((ours - real) / (1 - real), 1 = identical samples) beside it
        "columns": [("ms_ssim/quality", "MS-SSIM (quality, 002's reading)", ".4f"),
                    ("ms_ssim/collapse", "MS-SSIM collapse (0 real, 1 identical)", ".4f"),
                    ("ms_ssim/ms_ssim_real", "MS-SSIM of real data", ".4f"), *FID_COLUMNS]},
    "celeba_mdgan": {
        "configs": {"cpu": "configs/images/celeba_mdgan_cpu.yaml", "full": "configs/images/celeba_mdgan.yaml"},
        "methods": "nsgan,reg_gan,mdgan", "references": "celeba_mdgan",
        "columns": [(f"{m}/sigma{s}/{k}", f"{title}, sigma {s}", fmt)
                    for m in ("third_party", "third_party_fast") for s in ("1.75", "2")
                    for k, title, fmt in (("points", "points on missing modes", ".1f"),
                                          ("share", "share on missing modes", ".4f"),
                                          ("held_out_accuracy", "third-party D's held-out accuracy", ".3f"))]},
}
# 003 Table 2: the optimum of AGE (beta2 0.999; 003 also decays AGE's lr, not done here) and alpha-GAN
# (lr 5e-4, beta2 0.999); GAN, GAN-RL and DRAGAN use the config's setting A (lr 2e-4, beta2 0.9)
METHOD_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "cifar10_table3": {"age": {"train.betas": [0.5, 0.999]},
                       "alpha_gan": {"train.lr": 5.0e-4, "train.betas": [0.5, 0.999]}},
}


def load_references(config: str, path: Path = REFERENCES) -> list[dict[str, Any]]:
    """The published numbers recorded for ``config`` (a configs/images stem)."""
    entries = yaml.safe_load(path.read_text()) or []
    return [e for e in entries if e["config"] == config]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def _cell(values: list[float | None], spec: str) -> str:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return "-"
    if len(finite) == 1:
        return _fmt(finite[0], spec)
    return f"{_fmt(float(np.mean(finite)), spec)} ± {_fmt(float(np.std(finite, ddof=1)), spec)}"


def real_data_metrics(job) -> dict[str, float]:
    """FID and KID of ``eval.n_samples`` held-out real images (the dataset's held-out split, e.g.
    test) against the same reference statistics the runs were scored on: the value a perfect
    generator would get at this n (FID is biased upwards at small n; KID is not)."""
    from aegan.data import build_dataset
    from aegan.metrics.fid import FIDParams, frechet_from_stats, kernel_inception_distance
    from aegan.metrics.fid_stats import reference_stats
    from aegan.metrics.inception import default_device

    import torch

    torch.set_num_threads(1)  # as the runs (aegan compare: one torch thread per job)
    cfg = job.config()
    p = FIDParams.model_validate(cfg.eval.params.get("fid", {}))
    data = build_dataset(cfg.data.name, cfg.data.params, 0, "cpu")
    device = default_device(p.device)
    held_split = getattr(cfg.data.params, "held_out_split", None) or "test"
    n = p.n_samples or cfg.eval.n_samples
    held, _, _, _ = reference_stats(data, held_split, n, cfg.eval.seed, p.weights, p.batch_size, device,
                                    p.cache_dir, p.cache, False)
    ref, _, _, _ = reference_stats(data, p.real_split, p.n_real or n, cfg.eval.seed + 1, p.weights, p.batch_size,
                                   device, p.cache_dir, p.cache, False)
    kid, _ = kernel_inception_distance(held.features.double(), ref.features.double(), p.kid_subsets,
                                       p.kid_subset_size, cfg.eval.seed)
    return {"fid/fid": frechet_from_stats(held.mu, held.sigma, ref.mu, ref.sigma), "fid/kid": kid,
            "n": float(n), "split": held_split}


def table(name: str, scale: str, jobs, results, wall: float, workers: int, real: dict | None = None) -> str:
    from aegan.results.rows import parse_row_label
    from aegan.results.records import machine_summary

    spec = TABLES[name]
    by_row: dict[str, list[tuple[Any, dict]]] = {}
    for job, res in zip(jobs, results):
        by_row.setdefault(job.row, []).append((job, res))
    columns = [c for c in spec["columns"]
               if any(c[0] in r.get("metrics", {}) for r in results)
               or any(e["metric"] == c[0] for e in load_references(spec["references"]))]
    first_job, first = jobs[0], results[0]
    cfg = first_job.config()
    fid = cfg.eval.params.get("fid", {})
    lines = [f"## {name} ({scale} scale)", ""]
    if spec.get("note"):
        lines += [spec["note"], ""]
    lines += [f"- config: `{spec['configs'][scale]}` (`{cfg.model.name}` nets, {cfg.train.steps} steps of batch "
              f"{cfg.train.batch_size}, Adam lr {cfg.train.lr:g}, betas {list(cfg.train.betas)})",
              f"- evaluation: {cfg.eval.n_samples} generated samples"
              + (f", FID/KID against {fid.get('n_real', cfg.eval.n_samples)} training images "
                 f"(TF Inception pool3, sha256 `{first.get('metrics', {}).get('fid/weights_sha256', '?')[:16]}…`)"
                 if "fid" in cfg.eval.metrics else "")
              + ", once at the end of training",
              f"- seeds: {max(len(v) for v in by_row.values())} per method; machine: {machine_summary()}; "
              f"{workers} worker(s), 1 torch thread each",
              f"- wall time of this invocation: {wall:.0f} s (finished runs are reused, not re-timed)",
              f"- data protocol: `{json.dumps(first.get('protocol'), sort_keys=True)}`", ""]
    head = ["method", *[c[1] for c in columns], "seeds", "ms/step"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    if real:
        lines.append("| " + " | ".join([f"real data ({real['n']:.0f} {real['split']} images, the floor at this n)",
                                        *[_fmt(real.get(key), fmt) if key in real else "" for key, _, fmt in columns],
                                        "-", "-"]) + " |")
    for row, runs in by_row.items():
        metrics = [r.get("metrics", {}) for _, r in runs]
        diverged = [r for _, r in runs if r.get("diverged")]
        cells = [_cell([m.get(key) for m in metrics], fmt) for key, _, fmt in columns]
        ms = np.mean([r["time_per_step_ms"] for _, r in runs if r.get("time_per_step_ms")] or [float("nan")])
        seeds = f"{len(runs)}" + (f" ({len(diverged)} diverged)" if diverged else "")
        lines.append("| " + " | ".join([row, *cells, seeds, _fmt(float(ms), ".1f")]) + " |")
    refs = load_references(spec["references"])
    ours = {parse_row_label(row)[0] for row in by_row}
    for entry in refs:  # the paper's rows of the methods in the table (grid points or not), and "-" rows
        if parse_row_label(entry["method"])[0] not in ours and entry["method"] != "-" and name != "fashion_standin":
            continue
        cells = []
        for key, _, fmt in columns:
            if entry["metric"] == key and entry.get("value") is not None:
                cells.append(_fmt(entry["value"], fmt) + (f" ± {entry['std']}" if entry.get("std") else ""))
            else:
                cells.append("")
        if not any(cells):
            continue
        label = f"paper: {entry['source']}" + (f" ({entry['note']})" if entry.get("note") else "")
        lines.append("| " + " | ".join([label, *cells, "", ""]) + " |")
    lines.append("")
    overrides = METHOD_OVERRIDES.get(name, {})
    if overrides:
        lines += ["Per-method settings (003 Table 2) applied over the config: "
                  + "; ".join(f"{m}: " + ", ".join(f"{k}={v}" for k, v in o.items()) for m, o in overrides.items()), ""]
    qualitative = [e for e in refs if e.get("value") is None]
    if qualitative:
        lines += ["Published without numbers: " + "; ".join(f"{e['method']} {e['metric']}: {e['note']} ({e['source']})"
                                                        for e in qualitative), ""]
    lines += ["± is the sample standard deviation over seeds (ddof 1); one seed shows its value alone. "
              "Paper rows: benchmarks/references.yaml.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from aegan.checkpoint import atomic_write_json, atomic_write_text
    from aegan.compare import SEEDS_HELP, grid_points, parse_seeds, plan, records_appender, run_all
    from aegan.config import parse_overrides

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", choices=sorted(TABLES))
    p.add_argument("--scale", choices=["cpu", "full"], default="cpu")
    p.add_argument("--methods", help="comma-separated (default: the paper's rows)")
    p.add_argument("--seeds", type=parse_seeds, default="1", help=SEEDS_HELP)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=[V,...]",
                   help="as aegan compare --grid (celeba_mdgan: --grid model.latent_dim=[100,200])")
    p.add_argument("--out", default="results/natural_images")
    p.add_argument("--list", action="store_true", help="print the plan and stop")
    p.add_argument("--real-row", action="store_true",
                   help="add FID/KID of eval.n_samples held-out real images (their Inception features are cached)")
    p.add_argument("--records", metavar="DIR", help="also append each finished run's record to this records "
                                                    "directory (docs/results/images.md's stand-in table: benchmarks/results/natural_cpu)")
    args, rest = p.parse_known_args(argv)
    overrides = parse_overrides(rest)
    spec = TABLES[args.table]
    config = str(ROOT / spec["configs"][args.scale])
    methods = [m for m in (args.methods or spec["methods"]).split(",") if m]
    points = grid_points(args.grid) if args.grid else None
    out = Path(args.out) / f"{args.table}_{args.scale}"
    jobs = []
    for method in methods:
        extra = METHOD_OVERRIDES.get(args.table, {}).get(method, {})
        jobs += plan([config], [method], args.seeds, out, {**extra, **overrides}, points)
    if args.list:
        for i, job in enumerate(jobs):
            print(i, job.row, job.seed, job.run_dir)
        return 0
    started = time.perf_counter()
    results = run_all(jobs, args.workers, on_done=None if args.records is None else records_appender(jobs, args.records))
    real = real_data_metrics(jobs[0]) if args.real_row else None
    text = table(args.table, args.scale, jobs, results, time.perf_counter() - started, args.workers, real)
    atomic_write_text(Path(args.out) / f"{args.table}_{args.scale}.md", text)
    atomic_write_json(Path(args.out) / f"{args.table}_{args.scale}.json",
                      [{"config": j.config_path, "row": j.row, "run_dir": j.run_dir, **r} for j, r in zip(jobs, results)])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
