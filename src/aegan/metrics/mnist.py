"""Classifier-based metrics on MNIST-like data (DESIGN.md section 4), with the project's
MNIST classifier (``aegan.metrics.classifier``; its SHA-256 is in the dataset protocol).

``mnist_modes`` -- stacked / compositional MNIST and 001's 64x64 numbers (``mnist_number``,
its #Miss = ``missing``): each sample's three digits are read by
the classifier, mode = 100*d1 + 10*d2 + d3; modes captured out of 1000 and
KL(p_generated || p_data) over ``n_samples`` (26,000 in VEEGAN/PacGAN; 001 gives none), p_data the
dataset's mode distribution (uniform unless ``digit_weights`` skew it; ``kl_uniform`` is
always against uniform). Per-position digit histograms ``pos{k}/digit{d}``.
``mode_score`` -- the MODE score (001 Eq. 4, in the reading Xu et al. 2018 quote:
IS * exp(-KL(p_gen(y) || p_train(y))); see ``classifier_scores``) with the classifier
Inception score (001 Eq. 3) beside it; ``classifier_is`` -- that Inception score alone.
On MNIST the labels are the 10 digits; on three-digit data the 1000 modes, p(y|x) the
product of the three digits' softmaxes. Natural logarithms throughout. Each takes ``n_samples`` as its one parameter
(``eval.params.<metric>.n_samples``; default ``eval.n_samples``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from aegan.metrics.base import EvalContext, MetricParams, register_metric
from aegan.metrics.classifier import digit_probabilities


def _three_digit(ctx: EvalContext, metric: str):
    from aegan.data.images import ThreeDigitMNIST

    if not isinstance(ctx.dataset, ThreeDigitMNIST):
        raise ValueError(f"metric {metric!r} needs stacked_mnist, compositional_mnist or mnist_number data")
    return ctx.dataset


def digits_of(dataset, x: Tensor, device: str | None = None) -> tuple[Tensor, Tensor]:
    """(n, *shape) samples -> (n, 3, 10) per-position digit probabilities and (n, 3) digits."""
    parts = dataset.split_digits(x.float().clamp(0, 1))  # (n, 3, 1, 28, 28)
    probs = digit_probabilities(parts.flatten(0, 1), device=device).view(len(x), 3, 10)
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


def three_digit_mode_scores(dataset, x: Tensor, digits: Tensor | None = None,
                            device: str | None = None) -> dict[str, float]:
    """Mode histogram scores and per-position digit histograms of samples ``x`` (``digits``:
    their (n, 3) classified digits, when the caller already has them; ``device``: the classifier's)."""
    if digits is None:
        _, digits = digits_of(dataset, x, device)
    out = mode_histogram_scores(dataset.mode_id(digits), dataset.mode_weights, dataset.num_modes)
    for k in range(3):
        hist = torch.bincount(digits[:, k], minlength=10).double() / len(x)
        out.update({f"pos{k}/digit{d}": float(hist[d]) for d in range(10)})
    out["n_samples"] = float(len(x))
    return out


@register_metric("mnist_modes", data_kinds=("images",))
def mnist_modes(ctx: EvalContext, p: MetricParams) -> dict[str, float]:
    dataset = _three_digit(ctx, "mnist_modes")
    return three_digit_mode_scores(dataset, ctx.generate(ctx.n_samples), device=ctx.device)


# -- MODE score and Inception score ---------------------------------------------------------------
def _xlogy(p: Tensor, q: Tensor) -> Tensor:
    return torch.where(p > 0, p * (p.clamp_min(1e-30) / q.clamp_min(1e-30)).log(), torch.zeros_like(p))


def classifier_scores(probs: Tensor, train_label_weights: Tensor) -> dict[str, float]:
    """Classifier Inception score and MODE score from (n, K) p(y|x) of generated samples.

    Notation: p(y|x) the classifier's softmax on one sample; p_gen(y) = mean of p(y|x) over
    the n samples (the generated label marginal); p_train(y) = ``train_label_weights``, the
    label distribution of the training data: on MNIST the frequencies of the *true* labels
    of the training split (``ImageSource.label_weights``), on stacked / compositional MNIST
    the dataset's mode distribution (``ThreeDigitMNIST.mode_weights``: uniform 1/1000 unless
    ``digit_weights`` or ``sampling: image`` skew it). It is not the classifier's label
    marginal on the training images. Natural logarithms.

        IS   = exp(E_x KL(p(y|x) || p_gen(y)))                                  (001 Eq. 3)
        MODE = exp(E_x KL(p(y|x) || p_gen(y)) - KL(p_gen(y) || p_train(y)))
             = IS * exp(-KL(p_gen(y) || p_train(y)))                          (001 Eq. 4)

    Why not the literal form ``exp(E_x KL(p(y|x) || p_train) - KL(p_gen || p_train))``
    (the one this function computed before): it is the IS again. With H(y|x) the mean
    entropy of p(y|x),
        E_x KL(p(y|x) || p_train) = -H(y|x) - sum_y p_gen(y) log p_train(y)
        KL(p_gen || p_train)      =  sum_y p_gen(y) log p_gen(y) - sum_y p_gen(y) log p_train(y)
    and the difference, -H(y|x) - sum_y p_gen(y) log p_gen(y) = E_x KL(p(y|x) || p_gen), is
    log IS: the p_train terms cancel, so that score cannot see the training labels at all.
    The form used here is the one Xu et al. 2018 quote for Che et al. 2017: the IS times
    exp(-KL(p_gen || p_train)) <= 1, so a generated label marginal unlike the data's is
    penalised, which is what 001 Sec. 3.4 says the score is for; MODE == IS exactly when
    p_gen == p_train, and MODE < IS otherwise.

    Labels with p_train(y) = 0 are floored at 1e-30 (as before), so generated mass m on
    them costs about m * 69 nats rather than making the score exactly 0.
    """
    probs = probs.double()
    p_train = train_label_weights.double()
    p_gen = probs.mean(0)
    is_log = _xlogy(probs, p_gen.expand_as(probs)).sum(1).mean()
    kl_gen_train = _xlogy(p_gen, p_train).sum()
    return {"inception_score": float(is_log.exp()), "mode_score": float((is_log - kl_gen_train).exp())}


def product_scores(digit_probs: Tensor, mode_weights: Tensor, chunk: int = 2048) -> dict[str, float]:
    """As ``classifier_scores`` over the 1000 three-digit classes, p(y|x) the outer product
    of the (n, 3, 10) per-position probabilities, computed in chunks (the (n, 1000) joint is
    never held whole); ``mode_weights`` is p_train."""
    n = len(digit_probs)
    p_train = mode_weights.double()
    p_gen = torch.zeros(1000, dtype=torch.float64)
    neg_entropy = 0.0
    for i in range(0, n, chunk):
        d = digit_probs[i: i + chunk].double()
        joint = (d[:, 0, :, None, None] * d[:, 1, None, :, None] * d[:, 2, None, None, :]).flatten(1)  # (c, 1000)
        p_gen += joint.sum(0)
        neg_entropy += float(_xlogy(d, torch.ones_like(d)).sum())  # sum p log p over the three positions
    p_gen /= n
    # E_x KL(p(y|x) || p_gen) = -H(y|x) - sum_y p_gen(y) log p_gen(y), since
    # E_x sum_y p(y|x) log p_gen(y) = sum_y p_gen(y) log p_gen(y)
    is_log = (neg_entropy - n * float((p_gen * p_gen.clamp_min(1e-30).log()).sum())) / n
    kl_gen_train = float(_xlogy(p_gen, p_train).sum())
    return {"inception_score": math.exp(is_log), "mode_score": math.exp(is_log - kl_gen_train)}


def _scores(ctx: EvalContext, metric: str) -> dict[str, float]:
    from aegan.data.images import ImageSource, ThreeDigitMNIST

    data = ctx.dataset
    x = ctx.generate(ctx.n_samples)
    if isinstance(data, ThreeDigitMNIST):
        probs, _ = digits_of(data, x, ctx.device)
        return product_scores(probs, data.mode_weights)
    if isinstance(data, ImageSource) and data.name == "mnist":
        return classifier_scores(digit_probabilities(x.float().clamp(0, 1), device=ctx.device), data.label_weights)
    raise ValueError(f"metric {metric!r} needs MNIST-like data (mnist, stacked_mnist, compositional_mnist, "
                     "mnist_number): the classifier is an MNIST classifier")


@register_metric("mode_score", data_kinds=("images",))
def mode_score(ctx: EvalContext, p: MetricParams) -> dict[str, float]:
    return _scores(ctx, "mode_score")


@register_metric("classifier_is", data_kinds=("images",))
def classifier_is(ctx: EvalContext, p: MetricParams) -> dict[str, float]:
    return {"inception_score": _scores(ctx, "classifier_is")["inception_score"]}
