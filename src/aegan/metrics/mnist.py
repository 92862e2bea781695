"""Classifier-based metrics on MNIST-like data (DESIGN.md section 4), with the project's
MNIST classifier (``aegan.metrics.classifier``; its SHA-256 is in the dataset protocol).

``mnist_modes`` -- stacked / compositional MNIST: each sample's three digits are read by
the classifier, mode = 100*d1 + 10*d2 + d3; modes captured out of 1000 and
KL(p_generated || p_data) over ``n_samples`` (26,000 in VEEGAN/PacGAN/001), p_data the
dataset's mode distribution (uniform unless ``digit_weights`` skew it; ``kl_uniform`` is
always against uniform). Per-position digit histograms ``pos{k}/digit{d}``.
``mode_score`` -- the MODE score (001 Eq. 4) with the classifier Inception score (001 Eq.
3) beside it; ``classifier_is`` -- that Inception score alone. On MNIST the labels are the
10 digits; on three-digit data the 1000 modes, p(y|x) the product of the three digits'
softmaxes. Natural logarithms throughout. Each takes ``n_samples`` as its one parameter
(``eval.params.<metric>.n_samples``; default ``eval.n_samples``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from aegan.metrics.base import EvalContext, MetricParams, register_metric
from aegan.metrics.classifier import digit_probabilities


def _three_digit(ctx: EvalContext, metric: str):
    from aegan.data.images import ThreeDigitMNIST

    if not isinstance(ctx.dataset, ThreeDigitMNIST):
        raise ValueError(f"metric {metric!r} needs stacked_mnist or compositional_mnist data")
    return ctx.dataset


def digits_of(dataset, x: Tensor) -> tuple[Tensor, Tensor]:
    """(n, *shape) samples -> (n, 3, 10) per-position digit probabilities and (n, 3) digits."""
    parts = dataset.split_digits(x.float().clamp(0, 1))  # (n, 3, 1, 28, 28)
    probs = digit_probabilities(parts.flatten(0, 1)).view(len(x), 3, 10)
    return probs, probs.argmax(-1)


def mode_histogram_scores(modes: Tensor, data_weights: Tensor, num_modes: int = 1000) -> dict[str, float]:
    """Modes captured and KL(p_generated || p_data), KL(p_generated || uniform)."""
    counts = torch.bincount(modes, minlength=num_modes).double()
    p = counts / counts.sum()
    mask = p > 0
    q = data_weights.double() / data_weights.double().sum()
    kl = float((p[mask] * (p[mask] / q[mask]).log()).sum()) if bool((q[mask] > 0).all()) else float("inf")
    kl_uniform = float((p[mask] * (p[mask] * num_modes).log()).sum())
    return {"modes": float(mask.sum()), "missing": float(num_modes - mask.sum()), "kl": kl, "kl_uniform": kl_uniform,
            "total_modes": float(num_modes)}


def three_digit_mode_scores(dataset, x: Tensor, digits: Tensor | None = None) -> dict[str, float]:
    """Mode histogram scores and per-position digit histograms of samples ``x`` (``digits``:
    their (n, 3) classified digits, when the caller already has them)."""
    if digits is None:
        _, digits = digits_of(dataset, x)
    out = mode_histogram_scores(dataset.mode_id(digits), dataset.mode_weights, dataset.num_modes)
    for k in range(3):
        hist = torch.bincount(digits[:, k], minlength=10).double() / len(x)
        out.update({f"pos{k}/digit{d}": float(hist[d]) for d in range(10)})
    out["n_samples"] = float(len(x))
    return out


@register_metric("mnist_modes")
def mnist_modes(ctx: EvalContext, p: MetricParams) -> dict[str, float]:
    dataset = _three_digit(ctx, "mnist_modes")
    return three_digit_mode_scores(dataset, ctx.generate(ctx.n_samples))


# -- MODE score and Inception score ---------------------------------------------------------------
def _xlogy(p: Tensor, q: Tensor) -> Tensor:
    return torch.where(p > 0, p * (p.clamp_min(1e-30) / q.clamp_min(1e-30)).log(), torch.zeros_like(p))


def classifier_scores(probs: Tensor, train_label_weights: Tensor) -> dict[str, float]:
    """IS = exp(E_x KL(p(y|x) || p*(y))) (001 Eq. 3) and
    MODE = exp(E_x KL(p(y|x) || p(y)) - KL(p*(y) || p(y))) (001 Eq. 4), from (n, K) p(y|x);
    p*(y) the mean of p(y|x) over the samples, p(y) the training label distribution."""
    probs = probs.double()
    py = train_label_weights.double()
    p_star = probs.mean(0)
    is_log = _xlogy(probs, p_star.expand_as(probs)).sum(1).mean()
    mode_log = _xlogy(probs, py.expand_as(probs)).sum(1).mean() - _xlogy(p_star, py).sum()
    return {"inception_score": float(is_log.exp()), "mode_score": float(mode_log.exp())}


def product_scores(digit_probs: Tensor, mode_weights: Tensor, chunk: int = 2048) -> dict[str, float]:
    """As ``classifier_scores`` over the 1000 three-digit classes, p(y|x) the outer product
    of the (n, 3, 10) per-position probabilities, computed in chunks."""
    n = len(digit_probs)
    q = mode_weights.double()
    p_star = torch.zeros(1000, dtype=torch.float64)
    neg_entropy = cross_q = 0.0
    for i in range(0, n, chunk):
        d = digit_probs[i: i + chunk].double()
        joint = (d[:, 0, :, None, None] * d[:, 1, None, :, None] * d[:, 2, None, None, :]).flatten(1)  # (c, 1000)
        p_star += joint.sum(0)
        neg_entropy += float(_xlogy(d, torch.ones_like(d)).sum())  # sum p log p over the three positions
        cross_q += float((joint * q.clamp_min(1e-30).log()).sum())
    p_star /= n
    e_kl_star = (neg_entropy - n * float((p_star * p_star.clamp_min(1e-30).log()).sum())) / n
    # E_x sum_y p(y|x) log p*(y) = sum_y p*(y) log p*(y)
    e_kl_q = (neg_entropy - cross_q) / n
    kl_star_q = float(_xlogy(p_star, q).sum())
    return {"inception_score": float(torch.tensor(e_kl_star).exp()),
            "mode_score": float(torch.tensor(e_kl_q - kl_star_q).exp())}


def _scores(ctx: EvalContext, metric: str) -> dict[str, float]:
    from aegan.data.images import ImageSource, ThreeDigitMNIST

    data = ctx.dataset
    x = ctx.generate(ctx.n_samples)
    if isinstance(data, ThreeDigitMNIST):
        probs, _ = digits_of(data, x)
        return product_scores(probs, data.mode_weights)
    if isinstance(data, ImageSource) and data.name == "mnist":
        return classifier_scores(digit_probabilities(x.float().clamp(0, 1)), data.label_weights)
    raise ValueError(f"metric {metric!r} needs MNIST-like data (mnist, stacked_mnist, compositional_mnist): "
                     "the classifier is an MNIST classifier")


@register_metric("mode_score")
def mode_score(ctx: EvalContext, p: MetricParams) -> dict[str, float]:
    return _scores(ctx, "mode_score")


@register_metric("classifier_is")
def classifier_is(ctx: EvalContext, p: MetricParams) -> dict[str, float]:
    return {"inception_score": _scores(ctx, "classifier_is")["inception_score"]}
