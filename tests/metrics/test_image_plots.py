"""Sample and latent-interpolation grids for image runs (000 Fig. 1, 002 Fig. 6)."""

from __future__ import annotations

import torch

from aegan.plots import corner_codes, interpolation_codes, interpolation_figure
from aegan.train import Trainer
from tests.conftest import tiny_config


def test_interpolation_codes_walk_from_one_end_to_the_other():
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    z = interpolation_codes(a, b, 4).view(3, 4, 5)
    assert torch.allclose(z[:, 0], a) and torch.allclose(z[:, -1], b)
    assert torch.allclose(z[:, 1], a + (b - a) / 3, atol=1e-6)


def test_corner_codes_hit_the_four_corners():
    a, b, c, d = torch.randn(4, 5)
    z = corner_codes(a, b, c, d, 3).view(3, 3, 5)
    assert torch.allclose(z[0, 0], a) and torch.allclose(z[0, -1], b)
    assert torch.allclose(z[-1, 0], c) and torch.allclose(z[-1, -1], d)
    assert torch.allclose(z[1, 1], (a + b + c + d) / 4, atol=1e-6)


def test_interpolation_figure_writes_png(tmp_path):
    cfg = tiny_config(**{"data": {"name": "digits"}, "eval": {"metrics": []},
                         "model": {"family": "conv", "latent_dim": 3, "width": 4, "fc": 8}})
    trainer = Trainer(cfg, tmp_path)
    for layout in ("pairs", "corners"):
        path = interpolation_figure(trainer, tmp_path / f"{layout}.png", rows=2, steps=3, layout=layout)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert trainer.nets.training  # restored
