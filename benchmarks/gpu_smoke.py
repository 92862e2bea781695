"""GPU smoke test and speed check of many small runs on one GPU (issue 13 item 4), in one go.

For each compile mode (``eager`` = train.compile: false, ``graph`` = train.compile: graph:
each net's forward and backward replayed as CUDA graphs), one call of

    aegan compare configs/toy/ring8.yaml configs/toy/grid25.yaml --methods M1,M2,... --seeds S
          --workers N --train.device=cuda --train.compile=... --train.steps=STEPS

runs methods x 2 configs x S seeds with N processes sharing the one GPU. If that call fails,
each method is run on its own (finished runs are reused) to name the ones that fail, and
the others go on. Then it prints

- each mode's wall time and each run's ms/step (``time_per_step_ms`` of metrics.json: the
  training loop's time over the run's steps, so compile/capture time of the first steps
  is included, amortised over STEPS; at the protocol's 10,000 steps it weighs less);
- the full 2D protocol's estimate (every registered method and the configs' variants x 10
  seeds x ring8 and grid25 at their 10,000 steps) on N workers, from ``aegan compare
  --dry-run`` over the same output directory: the measured ms/step (under N-way sharing)
  for the methods run here, the shipped cost table x NS-GAN's measured step for the others.

The report goes to stdout and ``OUT/gpu_smoke.md``. The defaults (3 methods x 2 configs x
4 seeds = 24 runs of 1000 steps per mode, 8 workers) are meant to take a few minutes on one
H100/H200, most of it process start-up and, for ``graph``, compilation; not yet timed (no GPU
when this was written). ``--device cpu`` tries the script's mechanics without a GPU (graph
is then refused, as it should be).

    python benchmarks/gpu_smoke.py [--workers 8] [--steps 1000] [--seeds 4]
        [--methods nsgan,wgan_gp,gan_ae] [--modes eager,graph] [--out results/gpu_smoke] [--device cuda]
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


def aegan(*args: str, timeout: float) -> tuple[bool, str, str]:
    """(ok, stdout, the last line of stderr) of ``python -m aegan.cli ARGS``."""
    try:
        done = subprocess.run([sys.executable, "-m", "aegan.cli", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "", f"timed out after {timeout:.0f} s"
    return done.returncode == 0, done.stdout, (done.stderr.strip().splitlines() or ["?"])[-1]


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
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--methods", default="nsgan,wgan_gp,gan_ae")
    parser.add_argument("--modes", default="eager,graph", help="comma-separated: eager, graph, default")
    parser.add_argument("--out", default="results/gpu_smoke")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per aegan call")
    parser.add_argument("--device", default="cuda", help="cpu: try the script's mechanics without a GPU")
    args = parser.parse_args()

    import torch

    if args.device == "cuda":
        if not torch.cuda.is_available():  # only this probe: the parent never uses the GPU otherwise
            print("gpu_smoke: no CUDA device here; run it on a GPU machine (or --device cpu)", file=sys.stderr)
            return 2
        device = (f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
                  f"{os.cpu_count()} CPU cores")
    else:
        device = f"{args.device} (a trial of the script, not a GPU measurement), torch {torch.__version__}"
    methods = [m for m in args.methods.split(",") if m]
    modes = [m for m in args.modes.split(",") if m]
    out = ROOT / args.out
    report = [f"# GPU smoke: {len(methods)} methods x {args.seeds} seed(s) x ring8, grid25 at {args.steps} steps, "
              f"--workers {args.workers}", "", device, ""]
    ms: dict[tuple[str, str, str], float] = {}  # (mode, config label, method) -> mean ms/step over seeds
    for mode in modes:
        common = [f"--train.device={args.device}", f"--train.compile={MODES[mode]}"]
        mode_out = out / mode

        def compare(labels: list[str]) -> tuple[bool, str]:
            ok, _, why = aegan("compare", *CONFIGS, "--methods", ",".join(labels), "--seeds", str(args.seeds),
                               "--workers", str(args.workers), "--out", str(mode_out), "--no-progress",
                               f"--train.steps={args.steps}", *common, timeout=args.timeout)
            if ok:
                for row in json.loads((mode_out / "results.json").read_text()):
                    key = (mode, Path(row["config"]).stem, row["label"])
                    ms[key] = ms.get(key, 0.0) + row["time_per_step_ms"] / args.seeds
            return ok, why

        start = time.perf_counter()
        ok, why = compare(methods)
        wall = time.perf_counter() - start
        print(f"{mode}: {'ok' if ok else 'FAILED: ' + why} ({wall:.0f} s)", flush=True)
        report += [f"## {mode} (train.compile: {MODES[mode]})", "",
                   f"wall time of the subset ({len(methods) * len(CONFIGS) * args.seeds} runs, one compare call, "
                   f"--workers {args.workers}): {wall:.0f} s" + ("" if ok else f"; FAILED: {why}"), ""]
        if not ok:  # which methods fail: each alone (finished runs are reused)
            for method in methods:
                m_ok, m_why = compare([method])
                line = f"{mode} {method}: {'ok' if m_ok else 'FAILED: ' + m_why}"
                print(line, flush=True)
                report.append(f"- {line}")
            report.append("")
        done, stdout, why = aegan("compare", *CONFIGS, "--methods", ",".join(all_labels()), "--seeds", "10",
                                  "--workers", str(args.workers), "--out", str(mode_out), "--dry-run", *common,
                                  timeout=args.timeout)
        tail = stdout.strip().splitlines()[-2:] if done else [f"dry run failed: {why}"]
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


if __name__ == "__main__":
    sys.exit(main())
