"""Training speed of 000 Table 3's nets (family ``conv``) on 28x28 MNIST: iterations/s of
NS-GAN steps (one D step + one G step) at batch 64 and 100, through the project's loop
(``aegan.train.Trainer``) and through a plain hand-written PyTorch loop on the same nets,
with and without bf16 autocast, channels_last and torch.compile (CUDA only; on the CPU only
fp32 eager runs and the script says so).

    nice -n 10 python benchmarks/image_speed.py [--steps 50] [--batches 64,100]

Prints the machine, a table of it/s, the ratio of each variant to its fp32 baseline and
the ratio project loop / plain loop (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time

import torch
import torch.nn.functional as F


def machine() -> str:
    from aegan.results.records import machine_summary

    return f"{machine_summary()}, {torch.get_num_threads()} torch threads"


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(step, steps: int, warmup: int, device) -> float:
    for _ in range(warmup):
        step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps / (time.perf_counter() - started)


def trainer_speed(batch: int, amp: bool, compile_: bool, steps: int, warmup: int) -> float:
    from aegan.config import build_config
    from aegan.train import Trainer

    raw = {"method": {"name": "nsgan"}, "data": {"name": "mnist"}, "model": {"family": "conv", "latent_dim": 50},
           "train": {"steps": 10**9, "batch_size": batch, "lr": 2e-4, "amp": amp, "compile": compile_,
                     "tensorboard": False}}
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(build_config(raw), tmp)
        return _time(trainer.train_step, steps, warmup, trainer.device)


def plain_speed(batch: int, amp: bool, channels_last: bool, compile_: bool, steps: int, warmup: int) -> float:
    """A plain NS-GAN loop on the same nets and data, no framework."""
    from aegan.data import DATASETS, build_dataset
    from aegan.nets import FAMILIES, build_factory

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = build_dataset("mnist", DATASETS["mnist"][0](), 0, device)
    factory = build_factory("conv", FAMILIES["conv"][0](latent_dim=50), data.shape)
    g, d = factory.generator().to(device), factory.discriminator().to(device)
    if channels_last:
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    fg, fd = (torch.compile(g), torch.compile(d)) if compile_ else (g, d)
    fused = device.type == "cuda"
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    ctx = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if amp else contextlib.nullcontext

    def step():
        x = data.next_batch(batch).x
        z = torch.randn(batch, 50, device=device)
        with ctx():
            fake = fg(z)
            loss_d = F.softplus(-fd(x)).mean() + F.softplus(fd(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        with ctx():
            loss_g = F.softplus(-fd(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    return _time(step, steps, warmup, device)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--batches", default="64,100")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    print(f"machine: {machine()}")
    # (name, amp, channels_last, compile); the project loop uses channels_last on CUDA always
    variants = [("fp32", False, cuda, False)]
    if cuda:
        variants += [("fp32 NCHW", False, False, False), ("bf16", True, True, False),
                     ("compile", False, True, True), ("bf16+compile", True, True, True)]
    else:
        print("CPU: only fp32 eager runs (bf16 autocast, channels_last and torch.compile are measured on CUDA only)")
    print("| batch | variant | project it/s | plain it/s | project/plain | project vs fp32 | plain vs fp32 |")
    print("|---|---|---|---|---|---|---|")
    for batch in [int(b) for b in args.batches.split(",")]:
        base = None
        for name, amp, cl, comp in variants:
            plain = plain_speed(batch, amp, cl, comp, args.steps, args.warmup)
            proj = trainer_speed(batch, amp, comp, args.steps, args.warmup) if cl == cuda else float("nan")
            base = base or (proj, plain)
            print(f"| {batch} | {name} | {proj:.1f} | {plain:.1f} | {proj / plain:.2f} | {proj / base[0]:.2f} | "
                  f"{plain / base[1]:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
