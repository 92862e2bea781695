"""GPU smoke test and speed check of many small runs on one GPU (issue 13 item 4), in one go.

For each compile mode (``eager`` = train.compile: false, ``graph`` = train.compile: graph,
i.e. each net's forward and backward replayed as CUDA graphs), one method at a time runs
``aegan compare configs/toy/ring8.yaml configs/toy/grid25.yaml --methods M --seeds S
--workers N --train.device=cuda`` at ``--steps`` steps: N processes sharing the one GPU.
A method that fails is reported and the others go on. Then it prints

- the wall time of each mode and each run's ms/step (``time_per_step_ms`` of metrics.json:
  the training loop's time over the run's steps, so a compile/capture cost of the first
  steps is included, amortised over ``--steps``: at 10,000 steps it weighs less);
- the estimate of the full 2D protocol (every registered method and the configs' variants x
  10 seeds x ring8 and grid25 at their 10,000 steps) on N workers, from ``aegan compare
  --dry-run`` over the same output directory: measured ms/step for the methods run here,
  the shipped cost table x NS-GAN's measured step for the others.

The report goes to stdout and ``OUT/gpu_smoke.md``. Budget: the defaults (4 methods, 1 seed,
1000 steps, 8 workers) take a few minutes on one H100/H200, most of it process start-up
and, for ``graph``, compilation.

    python benchmarks/gpu_smoke.py [--workers 8] [--steps 1000] [--seeds 1]
        [--methods nsgan,wgan_gp,gan_ae,vlgan] [--modes eager,graph] [--out results/gpu_smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ["configs/toy/ring8.yaml", "configs/toy/grid25.yaml"]
MODES = {"eager": "false", "graph": "graph", "default": "true"}


def aegan(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aegan.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def all_labels() -> list[str]:
    """Every registered method, then the variants of the configs' ``methods:`` sections."""
    import yaml

    from aegan.methods import METHODS

    labels = sorted(METHODS)
    for config in CONFIGS:
        for label, spec in (yaml.safe_load((ROOT / config).read_text()).get("methods") or {}).items():
            if isinstance(spec, dict) and "name" in spec and label not in labels:
                labels.append(label)
    return labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--methods", default="nsgan,wgan_gp,gan_ae,vlgan")
    parser.add_argument("--modes", default="eager,graph", help="comma-separated: eager, graph, default")
    parser.add_argument("--out", default="results/gpu_smoke")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per method and mode")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():  # only this probe: the parent never uses the GPU otherwise
        print("gpu_smoke: no CUDA device here; run it on a GPU machine", file=sys.stderr)
        return 2
    device = f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, " \
             f"{os.cpu_count()} CPU cores"
    methods = [m for m in args.methods.split(",") if m]
    modes = [m for m in args.modes.split(",") if m]
    out = ROOT / args.out
    report = [f"# GPU smoke: {len(methods)} methods x {args.seeds} seed(s) x ring8, grid25 at {args.steps} steps, "
              f"--workers {args.workers}", "", device, ""]
    ms: dict[tuple[str, str, str], float] = {}  # (mode, config label, method) -> ms/step
    for mode in modes:
        common = ["--train.device=cuda", f"--train.compile={MODES[mode]}"]
        mode_out = out / mode
        start = time.perf_counter()
        failed = []
        for method in methods:
            t0 = time.perf_counter()
            try:
                done = aegan("compare", *CONFIGS, "--methods", method, "--seeds", str(args.seeds), "--workers",
                             str(args.workers), "--out", str(mode_out), "--no-progress", f"--train.steps={args.steps}",
                             *common, timeout=args.timeout)
                ok, why = done.returncode == 0, (done.stderr.strip().splitlines() or ["?"])[-1]
            except subprocess.TimeoutExpired:
                ok, why = False, f"timed out after {args.timeout:.0f} s"
            line = f"{mode} {method}: {'ok' if ok else 'FAILED: ' + why} ({time.perf_counter() - t0:.0f} s)"
            print(line, flush=True)
            if not ok:
                failed.append(line)
            else:
                for row in json.loads((mode_out / "results.json").read_text()):
                    key = (mode, Path(row["config"]).stem, row["label"])
                    ms[key] = ms.get(key, 0.0) + row["time_per_step_ms"] / args.seeds
        wall = time.perf_counter() - start
        report += [f"## {mode} (train.compile: {MODES[mode]})", "",
                   f"wall time of the subset: {wall:.0f} s ({len(methods)} compare calls, one per method)", ""]
        report += [f"- {line}" for line in failed] + ([""] if failed else [])
        full = aegan("compare", *CONFIGS, "--methods", ",".join(all_labels()), "--seeds", "10", "--workers",
                     str(args.workers), "--out", str(mode_out), "--dry-run", *common, timeout=args.timeout)
        tail = done_tail(full)
        report += ["full 2D protocol (every method and variant x 10 seeds x ring8, grid25 at 10,000 steps), "
                   f"`aegan compare --dry-run --workers {args.workers}` over this directory:", "", "```", *tail, "```", ""]
    report += ["## ms/step per run (time_per_step_ms, mean over seeds; includes compile/capture amortised over "
               f"{args.steps} steps)", "", "| config | method | " + " | ".join(modes) + " |",
               "|---|---|" + "---:|" * len(modes)]
    for config in (Path(c).stem for c in CONFIGS):
        for method in methods:
            cells = [f"{ms[(m, config, method)]:.2f}" if (m, config, method) in ms else "-" for m in modes]
            report.append(f"| {config} | {method} | " + " | ".join(cells) + " |")
    text = "\n".join(report) + "\n"
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_smoke.md").write_text(text)
    return 0


def done_tail(done: subprocess.CompletedProcess) -> list[str]:
    if done.returncode != 0:
        return [f"dry run failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"]
    return done.stdout.strip().splitlines()[-2:]


if __name__ == "__main__":
    sys.exit(main())
