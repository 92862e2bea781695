"""Cost of one training step of every registered method, relative to NS-GAN's step.

Protocols: ``2d`` is configs/toy/ring8.yaml's model and train settings (MLP 2-128-128 nets,
batch 512); ``images`` is configs/images/stacked_mnist_cpu.yaml's (DCGAN width 16, batch 64),
each with the per-method settings of its ``methods:`` section. ``grad_per_term`` (a logging
diagnostic of the image config) is off, so a step is the method's phases only. A step is
``Trainer.train_step()`` (every phase: forward, backward, optimiser steps; no logging).
Each method's timed blocks alternate with NS-GAN blocks so that both see the same load; the
ratio is the median over blocks of (method block / adjacent NS-GAN block).

Targets (issue 13): at most 3x NS-GAN's step; WGAN and WGAN-GP (n_critic = 5) at most 6x;
unrolled GAN (k = 5) at most 7x.

    python benchmarks/method_cost.py [--protocol 2d|images|both] [--methods a,b] [--steps N]
                                     [--blocks 5] [--threads 1] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time

import torch

from aegan.config import build_config, read_yaml
from aegan.methods import METHODS
from aegan.train import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTOCOLS = {  # config, default steps
    "2d": ("configs/toy/ring8.yaml", 50),
    "images": ("configs/images/stacked_mnist_cpu.yaml", 10),
}
TARGETS = {"wgan": 6.0, "wgan_gp": 6.0, "unrolled": 7.0}
DEFAULT_TARGET = 3.0
REFERENCE = "nsgan"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"CPU {cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
            f"Python {platform.python_version()}")


def make_trainer(protocol: str, method: str, run_dir: str) -> Trainer:
    raw = read_yaml(os.path.join(ROOT, PROTOCOLS[protocol][0]))
    raw["method"] = {"name": method}
    raw.pop("eval", None)
    raw["train"] = {**raw["train"], "device": "cpu", "tensorboard": False, "grad_per_term": False, "seed": 0}
    return Trainer(build_config(raw), os.path.join(run_dir, f"{protocol}_{method}"))


def time_steps(trainer: Trainer, steps: int) -> float:
    """Seconds per ``train_step`` over ``steps`` steps (the loss values are read, as the loop does)."""
    start = time.perf_counter()
    for _ in range(steps):
        _, values = trainer.train_step()
    float(values[0])
    return (time.perf_counter() - start) / steps


def measure(protocol: str, methods: list[str], steps: int, blocks: int, warmup: int, run_dir: str):
    """Yield (method, ms/step, ratio, error) for each method, NS-GAN first."""
    ref = make_trainer(protocol, REFERENCE, run_dir)
    time_steps(ref, warmup)
    per_block = max(1, steps // blocks)
    for method in methods:
        try:
            trainer = ref if method == REFERENCE else make_trainer(protocol, method, run_dir)
            time_steps(trainer, warmup)
        except Exception as err:  # e.g. a method without an image setting
            yield method, None, None, f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"
            continue
        times, ratios = [], []
        for _ in range(blocks):
            t_ref = time_steps(ref, per_block)
            t = time_steps(trainer, per_block)
            times.append(t)
            ratios.append(t / t_ref)
        yield method, 1000 * statistics.median(times), statistics.median(ratios), None


def table(protocol: str, rows) -> list[str]:
    config, _ = PROTOCOLS[protocol]
    lines = [f"### {protocol} ({config})", "",
             "| method | ms / step | ratio to NS-GAN | target | met? |", "|---|---:|---:|---:|:---:|"]
    for method, ms, ratio, err in rows:
        target = TARGETS.get(method, DEFAULT_TARGET)
        if err:
            lines.append(f"| {method} | - | - | {target:g}x | n/a ({err}) |")
        else:
            lines.append(f"| {method} | {ms:.2f} | {ratio:.2f} | {target:g}x | {'yes' if ratio <= target else 'NO'} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["2d", "images", "both"], default="2d")
    parser.add_argument("--methods", default="", help="comma-separated (default: every registered method)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per method (default: 2d 50, images 10)")
    parser.add_argument("--blocks", type=int, default=5, help="interleaved blocks the steps are split into")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per trainer")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default=None, help="also write the markdown here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m] or sorted(METHODS)
    methods = [REFERENCE] + [m for m in methods if m != REFERENCE]
    protocols = ["2d", "images"] if args.protocol == "both" else [args.protocol]
    lines = ["# Cost of a training step, per method, relative to NS-GAN", "",
             f"{datetime.date.today().isoformat()}; {machine()}.",
             f"`python benchmarks/method_cost.py {' '.join(sys.argv[1:])}`", ""]
    with tempfile.TemporaryDirectory() as run_dir:
        for protocol in protocols:
            steps = args.steps or PROTOCOLS[protocol][1]
            lines.append(f"{steps} timed steps per method in {args.blocks} blocks, each after an NS-GAN block; "
                         f"{args.warmup} warm-up steps; ratio = median of the block ratios.")
            lines.append("")
            lines += table(protocol, measure(protocol, methods, steps, args.blocks, args.warmup, run_dir))
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
