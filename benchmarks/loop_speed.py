"""Time per training iteration: aegan's loop against a plain PyTorch loop, same process.

The toy reference setup: MLP 2-128-128-out for G and D, batch 256, Adam(1e-3, (0.5, 0.999)),
non-saturating GAN on ring8. aegan's figure includes everything it logs (every loss term,
the gradient norm of each net, mean D outputs; JSONL + TensorBoard). The plain loop is
written the obvious way (nn.Sequential, BCEWithLogitsLoss, Adam defaults, .item() per
step), as most GAN tutorials do. Blocks of the two are interleaved so that both see the
same machine load; the medians are reported.

    python benchmarks/loop_speed.py [--steps 300] [--blocks 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from torch import nn

from aegan.config import build_config
from aegan.results.records import machine_summary
from aegan.train import Trainer


def library_trainer(run_dir: str, steps: int) -> Trainer:
    raw = {
        "method": {"name": "nsgan"},
        "data": {"name": "ring8"},
        "model": {"family": "mlp", "latent_dim": 2, "hidden": 128, "depth": 2},
        "train": {"steps": steps, "batch_size": 256, "lr": 1e-3, "betas": [0.5, 0.999], "device": "cpu",
                  "log_every": 100, "checkpoint_every": 10**9, "snapshots": 1, "tensorboard": True},
    }
    return Trainer(build_config(raw), run_dir)


def time_library(trainer: Trainer, steps: int) -> float:
    """Seconds per step over ``steps`` more steps of ``fit`` (loop body incl. logging)."""
    before_s, before_n = trainer.train_seconds, trainer.step
    trainer.config = build_config({**trainer.config.to_dict(), "train": {**trainer.config.to_dict()["train"],
                                                                         "steps": trainer.step + steps}})
    trainer.fit(progress=False)
    return (trainer.train_seconds - before_s) / (trainer.step - before_n)


class PlainLoop:
    """The obvious loop: two nn.Sequential nets, BCEWithLogitsLoss, default Adam."""

    def __init__(self):
        def mlp(i, o, act):
            return nn.Sequential(nn.Linear(i, 128), act(), nn.Linear(128, 128), act(), nn.Linear(128, o))

        self.G, self.D = mlp(2, 2, nn.ReLU), mlp(2, 1, nn.LeakyReLU)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()
        angles = 2 * torch.pi * torch.arange(8) / 8
        self.centres = torch.stack([angles.cos(), angles.sin()], 1)
        self.history: list[tuple[float, float]] = []

    def step(self) -> None:
        x = self.centres[torch.randint(0, 8, (256,))] + 0.01 * torch.randn(256, 2)
        z = torch.randn(256, 2)
        fake = self.G(z)
        d_real, d_fake = self.D(x), self.D(fake.detach())
        loss_d = self.bce(d_real, torch.ones_like(d_real)) + self.bce(d_fake, torch.zeros_like(d_fake))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        out = self.D(fake)
        loss_g = self.bce(out, torch.ones_like(out))
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        self.history.append((loss_d.item(), loss_g.item()))

    def time(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per timed block")
    parser.add_argument("--blocks", type=int, default=5, help="interleaved blocks per loop")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer, plain = library_trainer(run_dir, 50), PlainLoop()
        time_library(trainer, 50), plain.time(50)  # warm-up
        lib, ref = [], []
        for _ in range(args.blocks):
            lib.append(time_library(trainer, args.steps))
            ref.append(plain.time(args.steps))
    lib_ms, ref_ms = 1000 * statistics.median(lib), 1000 * statistics.median(ref)
    print(f"machine: {machine_summary()}, {torch.get_num_threads()} torch threads, "
          f"{args.blocks} blocks x {args.steps} steps, median")
    print("| loop | ms / iteration | iterations / s |")
    print("|---|---|---|")
    print(f"| plain PyTorch (obvious) | {ref_ms:.3f} | {1000 / ref_ms:.0f} |")
    print(f"| aegan (logging included) | {lib_ms:.3f} | {1000 / lib_ms:.0f} |")
    print(f"speed-up of aegan over the plain loop: {ref_ms / lib_ms:.2f}x")


if __name__ == "__main__":
    main()
