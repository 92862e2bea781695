"""PRDC: the chunked computation against a direct full-matrix one, hand-worked cases that
tell precision, recall, density and coverage apart, and the metric on digits."""

from __future__ import annotations

import pytest
import torch

import aegan.metrics.prdc as prdc_module
from aegan.data import DATASETS, build_dataset
from aegan.metrics import METRICS, EvalContext
from aegan.metrics.prdc import knn_radii, prdc
from tests.metrics.feature_nets import PoolFeatures, save_script


def direct_prdc(real: torch.Tensor, fake: torch.Tensor, k: int) -> dict[str, float]:
    """Naeem et al.'s definitions on the whole distance matrices."""
    exact = "donot_use_mm_for_euclid_dist"
    d_rr = torch.cdist(real, real, compute_mode=exact)
    d_ff = torch.cdist(fake, fake, compute_mode=exact)
    d_rf = torch.cdist(real, fake, compute_mode=exact)  # (N, M)
    r = d_rr.sort(dim=1).values[:, k]  # k-th neighbour; column 0 is the point itself
    s = d_ff.sort(dim=1).values[:, k]
    return {"precision": (d_rf < r[:, None]).any(0).double().mean().item(),
            "recall": (d_rf < s[None, :]).any(1).double().mean().item(),
            "density": (d_rf < r[:, None]).sum(0).double().mean().item() / k,
            "coverage": (d_rf.min(1).values < r).double().mean().item()}


@pytest.mark.parametrize(("n", "m", "k", "chunk"), [(40, 33, 3, 7), (25, 50, 5, 64), (30, 30, 1, 4)])
def test_chunked_prdc_equals_the_direct_computation(n, m, k, chunk):
    g = torch.Generator().manual_seed(n + m + k)
    real = torch.randn(n, 6, generator=g, dtype=torch.float64)
    fake = torch.randn(m, 6, generator=g, dtype=torch.float64) * 1.3 + 0.4
    got, want = prdc(real, fake, k, chunk), direct_prdc(real, fake, k)
    assert got == pytest.approx(want, abs=1e-12)
    assert sum(0 < got[key] < 1 for key in ("precision", "recall", "coverage")) >= 2  # a non-trivial case


def test_no_block_is_larger_than_chunk_squared(monkeypatch):
    shapes = []
    real_distances = prdc_module._distances
    monkeypatch.setattr(prdc_module, "_distances", lambda a, b: shapes.append((len(a), len(b))) or real_distances(a, b))
    g = torch.Generator().manual_seed(0)
    prdc(torch.randn(50, 3, generator=g), torch.randn(45, 3, generator=g), k=5, chunk=8)
    assert shapes and max(a for a, _ in shapes) <= 8 and max(b for _, b in shapes) <= 8


def test_identical_sets_score_one_everywhere():
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = prdc(x, x.clone(), k=5, chunk=7)
    assert out["precision"] == out["recall"] == out["coverage"] == 1.0
    assert out["density"] == pytest.approx(1.0)  # each real ball holds itself and k - 1 others strictly


def test_a_far_away_set_scores_zero_everywhere():
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert prdc(x, x + 100.0, k=5) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_set_collapsed_on_one_real_point_by_hand():
    # reals 0, 1, ..., 9 on a line, k = 2: radius 1 inside, 2 at both ends; fakes all at 0.
    # precision: every fake is at distance 0 < 2 of real 0 -> 1. recall: the fakes' own
    # radius is 0, nothing lies strictly inside -> 0. density: only real 0's ball holds the
    # fakes (real 1 is at distance 1, not < 1) -> 1 / k = 0.5. coverage: only real 0 -> 0.1.
    real = torch.arange(10, dtype=torch.float64).view(10, 1)
    fake = torch.zeros(4, 1, dtype=torch.float64)
    assert prdc(real, fake, k=2, chunk=3) == {"precision": 1.0, "recall": 0.0, "density": 0.5, "coverage": 0.1}
    assert prdc(real, fake, k=2) == direct_prdc(real, fake, 2)


def test_fakes_piled_inside_many_real_balls_have_density_above_one():
    # reals 0, 2, 4, 6, k = 2: radii 4, 2, 2, 4. A fake at 3 lies strictly inside all four
    # balls (distances 3, 1, 1, 3): density 4 / k = 2 where precision saturates at 1; every
    # real ball holds it (coverage 1), but the piled fakes' own radius is 0 (recall 0).
    real = torch.tensor([[0.0], [2.0], [4.0], [6.0]], dtype=torch.float64)
    piled = torch.full((3, 1), 3.0, dtype=torch.float64)
    assert prdc(real, piled, k=2, chunk=2) == {"precision": 1.0, "recall": 0.0, "density": 2.0, "coverage": 1.0}


def test_knn_radii_need_more_points_than_k():
    assert knn_radii(torch.tensor([[0.0], [1.0], [3.0]]), 1, 2).tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="nearest_k = 3 needs more than 3"):
        knn_radii(torch.zeros(3, 2), 3, 10)


def test_prdc_metric_ranks_real_digits_above_a_constant_image(tmp_path):
    weights = str(save_script(PoolFeatures(), tmp_path / "pool.pt"))
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    real = data.sample(16, 7).x
    params = {"weights": weights, "nearest_k": 3, "batch_size": 8, "device": "cpu", "chunk_size": 5}
    good = METRICS["prdc"](EvalContext(lambda n: real[:n], data, 16), params)
    flat = METRICS["prdc"](EvalContext(lambda n: torch.full((n, 1, 8, 8), 0.5), data, 16), params)
    assert good["n_real"] == 16 and len(good["weights_sha256"]) == 64
    assert good["coverage"] > flat["coverage"] and good["recall"] > flat["recall"] and flat["recall"] == 0.0
