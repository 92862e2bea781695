"""Figures: rows of 2D sample snapshots over the true mode centres, and image grids."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np

from aegan.checkpoint import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def load_snapshots(samples_dir: Path) -> list[tuple[int, np.ndarray]]:
    """[(step, samples)] sorted by step, from ``samples/step_XXXXXXX.npy``."""
    files = sorted(Path(samples_dir).glob("step_*.npy"))
    return [(int(f.stem.split("_")[1]), np.load(f, allow_pickle=False)) for f in files]


def scatter_rows(
    rows: Sequence[tuple[str, Sequence[tuple[int, np.ndarray]]]],
    centres: np.ndarray,
    path: Path,
    limit: float | None = None,
) -> None:
    """One row per label, one panel per (step, samples): samples in blue over centres in red."""
    plt = _pyplot()
    n_rows, n_cols = len(rows), max(len(snaps) for _, snaps in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.2 * n_cols, 2.2 * n_rows), squeeze=False)
    lim = limit or 1.3 * float(np.abs(centres).max()) + 0.5
    for r, (label, snaps) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_xticks([]), ax.set_yticks([])
            ax.set_aspect("equal")
            if c >= len(snaps):
                ax.axis("off")
                continue
            step, samples = snaps[c]
            ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.4, c="tab:blue", rasterized=True)
            ax.scatter(centres[:, 0], centres[:, 1], s=12, marker="x", c="tab:red")
            ax.set_title(f"step {step}", fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    _pyplot().close(fig)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))


def image_grid(samples: np.ndarray, path: Path, nrow: int = 8) -> None:
    """Save (N, C, H, W) samples in [0, 1] as one PNG grid."""
    import torch
    from torchvision.utils import make_grid

    grid = make_grid(torch.as_tensor(samples).clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    plt = _pyplot()
    fig = plt.figure(figsize=(grid.shape[2] / 100, grid.shape[1] / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    img = grid.permute(1, 2, 0).numpy()
    ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray" if img.shape[2] == 1 else None)
    save_figure(fig, path)


def snapshot_figure(trainer) -> Path | None:
    """The run's figure: 2D snapshots over the centres, or a grid of the last image snapshot."""
    snaps = load_snapshots(trainer.paths.samples)
    if not snaps:
        return None
    centres = getattr(trainer.data, "centres", None)
    if centres is not None:
        scatter_rows([(trainer.config.method.name, snaps)], centres.numpy(), trainer.paths.figure)
    elif snaps[-1][1].ndim == 4:
        image_grid(snaps[-1][1], trainer.paths.figure)
    else:
        return None
    return trainer.paths.figure


# -- latent interpolation (000 Fig. 1; 002 Fig. 6) ------------------------------------------------
def interpolation_codes(z_a, z_b, steps: int):
    """(rows, d) pairs -> (rows * steps, d): row r walks on the line from z_a[r] to z_b[r]."""
    import torch

    t = torch.linspace(0, 1, steps, dtype=z_a.dtype, device=z_a.device).view(1, steps, 1)
    return ((1 - t) * z_a[:, None] + t * z_b[:, None]).flatten(0, 1)


def corner_codes(a, b, c, d, steps: int):
    """Four (d,) corner codes -> (steps * steps, d) bilinear grid: a top-left, b top-right,
    c bottom-left, d bottom-right (the latent space walk of 002 Fig. 6)."""
    import torch

    t = torch.linspace(0, 1, steps, dtype=a.dtype, device=a.device)
    u, v = t.view(steps, 1, 1), t.view(1, steps, 1)  # u down the rows, v across the columns
    grid = (1 - u) * ((1 - v) * a + v * b) + u * ((1 - v) * c + v * d)
    return grid.flatten(0, 1)


def interpolation_figure(trainer, path: Path, rows: int = 8, steps: int = 10, seed: int = 0,
                         layout: str = "pairs") -> Path:
    """Decode latent walks of a trained run and save them as one PNG grid.

    ``pairs``: ``rows`` rows, each from one random prior code to another (000 Fig. 1);
    ``corners``: a ``steps`` x ``steps`` bilinear walk between four random codes (002 Fig. 6).
    """
    import torch

    was_training = trainer.nets.training
    trainer.nets.eval()
    gen = torch.Generator(device=trainer.device).manual_seed(seed)
    like = torch.empty(0, device=trainer.device)
    with torch.no_grad():
        if layout == "corners":
            a, b, c, d = trainer.method.prior(4, like, generator=gen)
            z = corner_codes(a, b, c, d, steps)
        else:
            ends = trainer.method.prior(2 * rows, like, generator=gen)
            z = interpolation_codes(ends[:rows], ends[rows:], steps)
        images = trainer.data.to_unit(trainer.method.generate(trainer.nets, z).float().cpu()).numpy()
    trainer.nets.train(was_training)
    image_grid(images, Path(path), nrow=steps)
    return Path(path)
