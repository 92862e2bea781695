"""The Renyi kernel entropy mode count RKE-MC (Jalali, Li and Farnia 2023, "An
Information-Theoretic Evaluation of Generative Models in Learning Multi-modal
Distributions", NeurIPS): a label-free number of modes.

The paper's score is the order-2 Renyi entropy of the kernel covariance operator
C_X = E[phi(X) phi(X)^T] of a kernel with k(x, x) = 1 (unit trace); the formulas below are
those of the authors' README and code (``mjalali/renyi-kernel-entropy``, ``rke_score/rke.py``),
which we could read; the paper's equation numbers we could not check:

    RKE(X)    = -log ||C_X||_F^2 = -log E_{X, X' i.i.d.}[k(X, X')^2]
    RKE-MC(X) = exp(RKE(X)) = 1 / E[k(X, X')^2]

and from n samples (C_X -> K/n, whose non-zero eigenvalues are the empirical C_X's)

    RKE-MC = 1 / ||K/n||_F^2 = n^2 / sum_i sum_j k(x_i, x_j)^2

(the authors' ``rke`` package, ``compute_rke_mc_frobenius_norm``; its ``compute_rke_mc``
estimates the same mean of k^2 from 10^6 random pairs, the diagonal included; here every
pair is summed, in blocks). Their interpretation (a mixture of k well-separated
sub-Gaussian components, each far narrower than the kernel): RKE-MC -> k for equal weights,
1 / sum_j p_j^2 for weights p_j; it is the order-2 sibling of the Vendi score (exp of the
Renyi-2 instead of the Shannon entropy of the eigenvalues of K/n), so RKE-MC <= Vendi on
the same kernel matrix, with equality for equal clusters.

The kernel is Gaussian, k(x, y) = exp(-||x - y||^2 / (2 sigma^2)) (the paper's and its
code's; ``kernel: cosine`` is accepted for comparison with ``vendi``). The bandwidth sigma
sets what counts as one mode; the paper's image experiments choose it per feature space and
we could not confirm their value, so the defaults (``bandwidth: null``) are ours:

* raw 2D mixtures: 15 component standard deviations (0.15 on ring8, 0.75 on grid25): inside a
  mode the mean k^2 is 1 / (1 + 4 std^2 / sigma^2) = 0.982 (2D), so equal modes read 1.02 k;
  between the closest modes (ring8: 77 stds, grid25: 40) k^2 = exp(-(d / sigma)^2) < 1e-3;
* MNIST classifier features (unit penultimate vectors per digit): 0.8, between the median
  distance of two images of one digit (0.59) and of two digits (1.23) on MNIST test images;
  the three digits' Gaussian kernels multiply, so one stacked-MNIST mode is not one tight
  cluster: benchmarks/label_free_modes.py measures how RKE-MC follows the classifier's count;
* the classifier's softmax vectors: 0.2 (sqrt(2) apart for two sure, different digits);
* Inception pool3 features: 10 (module ``kernel_entropy``: ``INCEPTION_BANDWIDTH``).

Reported: ``rke_mc``; ``n``, ``bandwidth``, ``feature_dim``, ``nonfinite_share`` as for
``vendi``. RKE-MC is at most n (all samples dissimilar) and its estimate converges at the
rate of a mean of k^2 over pairs (no n^3 work, no cap on n): compare at equal features and
bandwidth.
"""

from __future__ import annotations

from aegan.metrics.base import EvalContext, register_metric
from aegan.metrics.kernel_entropy import KernelEntropyParams, rke_mode_count, scored


class RKEParams(KernelEntropyParams):
    pass


def rke_kernel(features: str, ctx: EvalContext) -> str:
    """``kernel: auto``: the paper's Gaussian kernel on every feature kind."""
    return "gaussian"


@register_metric("rke", RKEParams)
def rke_metric(ctx: EvalContext, p: RKEParams) -> dict[str, float | None]:
    return scored(ctx, p, rke_kernel, rke_mode_count, name="rke_mc")
