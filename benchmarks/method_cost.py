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

``--variants`` adds the labelled variants of the protocol config's ``methods:`` section
(``wgan_gp_lr1e3``, ``gan_rl_1g``, ...) as their own rows. ``--json FILE`` writes the
ratios as a cost table, the form ``src/aegan/assets/method_cost.json`` has: ``aegan
compare --dry-run`` multiplies them by an NS-GAN step timed on the machine at hand to
estimate a plan before any run has finished (docs/performance.md).

    python benchmarks/method_cost.py [--protocol 2d|images|both] [--methods a,b] [--variants]
                                     [--steps N] [--blocks 5] [--threads 1] [--out FILE.md] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import torch

from aegan.results.rows import method_spec
from aegan.config import build_config, read_yaml
from aegan.methods import METHODS
from aegan.results.records import machine_summary
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
    return f"{machine_summary()}, {torch.get_num_threads()} torch threads, Python {platform.python_version()}"


def variants(protocol: str) -> list[str]:
    """The labelled variants (entries with a ``name``) of the protocol config's ``methods:``."""
    raw = read_yaml(os.path.join(ROOT, PROTOCOLS[protocol][0]))
    return [label for label, spec in (raw.get("methods") or {}).items() if isinstance(spec, dict) and "name" in spec]


def make_trainer(protocol: str, method: str, run_dir: str) -> Trainer:
    raw = read_yaml(os.path.join(ROOT, PROTOCOLS[protocol][0]))
    raw["method"] = method_spec(raw, method)  # a registered method or a variant of the config's ``methods:``
    raw.pop("eval", None)
    raw["train"] = {**raw["train"], "device": "cpu", "tensorboard": False, "grad_per_term": False, "seed": 0}
    return Trainer(build_config(raw), os.path.join(run_dir, f"{protocol}_{method}"))


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = CLOCKS["wall"]


def time_steps(trainer: Trainer, steps: int) -> float:
    """Seconds per ``train_step`` over ``steps`` steps (the loss values are read, as the loop does),
    by ``CLOCK``: wall time, or this process's CPU time (``--clock cpu``: on a machine loaded by
    other work the ratios then measure the step's own work, not the share of the cores it got)."""
    start = CLOCK()
    for _ in range(steps):
        _, values = trainer.train_step()
    float(values[0].detach())
    return (CLOCK() - start) / steps


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
    raw = read_yaml(os.path.join(ROOT, config))
    for method, ms, ratio, err in rows:
        target = TARGETS.get(method_spec(raw, method)["name"], DEFAULT_TARGET)  # a variant: its method's target
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
    parser.add_argument("--variants", action="store_true", help="also the labelled variants of the config's methods:")
    parser.add_argument("--json", default=None, help="also write the ratios as a cost table (JSON) here")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier on a loaded machine; CPU only)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = CLOCKS[args.clock]
    methods = [m for m in args.methods.split(",") if m] or sorted(METHODS)
    methods = [REFERENCE] + [m for m in methods if m != REFERENCE]
    protocols = ["2d", "images"] if args.protocol == "both" else [args.protocol]
    lines = ["# Cost of a training step, per method, relative to NS-GAN", "",
             f"{datetime.date.today().isoformat()}; {machine()}.",
             f"`python benchmarks/method_cost.py {' '.join(sys.argv[1:])}`", ""]
    tables = {}
    with tempfile.TemporaryDirectory() as run_dir:
        for protocol in protocols:
            steps = args.steps or PROTOCOLS[protocol][1]
            labels = methods + [v for v in variants(protocol) if args.variants and v not in methods]
            lines.append(f"{steps} timed steps per method in {args.blocks} blocks, each after an NS-GAN block; "
                         f"{args.warmup} warm-up steps; ratio = median of the block ratios; {args.clock} clock.")
            lines.append("")
            rows = list(measure(protocol, labels, steps, args.blocks, args.warmup, run_dir))
            lines += table(protocol, rows)
            tables[protocol] = {
                "config": PROTOCOLS[protocol][0], "reference": REFERENCE, "reference_ms_per_step": rows[0][1],
                "clock": args.clock,
                # NS-GAN is 1 by definition (its printed row, NS-GAN blocks against NS-GAN blocks, shows the noise)
                "ratios": {label: 1.0 if label == REFERENCE else round(ratio, 3) for label, _, ratio, err in rows
                           if err is None}}
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.json:
        record = {"what": "ms/step of each method relative to NS-GAN's on the same nets, batch and machine "
                          "(benchmarks/method_cost.py); aegan compare --dry-run multiplies them by an NS-GAN step "
                          "timed on the machine at hand",
                  "measured": f"{datetime.date.today().isoformat()}; {machine()}",
                  "command": f"python benchmarks/method_cost.py {' '.join(sys.argv[1:])}",
                  "protocols": tables}
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1, sort_keys=False)
            f.write("\n")


if __name__ == "__main__":
    main()
