"""The Vendi score (Friedman and Dieng 2023, "The Vendi Score: A Diversity Evaluation Metric
for Machine Learning", TMLR): a label-free effective number of distinct samples.

The paper's definition (Sec. 3, Definition 3.1 as we recall its numbering; the formula
checked against the authors' README and ``vendi_score/vendi.py``): for samples x_1..x_n and a
positive semi-definite similarity k with k(x, x) = 1, K_ij = k(x_i, x_j) and
lambda_1..lambda_n the eigenvalues of K/n,

    VS_k(x_1, ..., x_n) = exp(-sum_i lambda_i log lambda_i)          (0 log 0 = 0)

the exponential of the Shannon entropy of the eigenvalues (tr(K/n) = 1, so they sum to 1).
It is 1 when all samples are identical (K = all ones), n when all are dissimilar (K = I),
and k for k identical, mutually dissimilar groups of equal size; for groups of weights
p_1..p_k it is exp(H(p)) (``aegan.metrics.kernel_entropy``). With the Gaussian kernel below,
"identical" and "dissimilar" mean "much closer than the bandwidth" and "much farther".

Settings (``VendiParams``; ``features``, ``bandwidth`` as in ``aegan.metrics.kernel_entropy``):

* ``kernel: auto`` is the authors' choice where they made one: cosine similarity on Inception
  embeddings and on pixels (their code normalises the rows and takes the linear kernel;
  ``vendi_score.image_utils``) for ``inception`` and ``raw`` image features. Differences:
  our Inception is FID's TF network (its pool3, shared with fid/prdc), theirs torchvision's;
  their pixel score resizes images to 32x32 first, ours reads the pixels as they are.
  On coordinates (``raw`` vectors) and on the MNIST classifier's features the kernel is
  Gaussian (sigma = ``bandwidth``), as for ``rke``: a cosine kernel on 2D points measures
  angles, and a linear kernel's score cannot exceed the features' rank (about 30 on the
  three digits' unit vectors: measured 30 at 1000 modes), so it cannot count 1000 modes.
* ``max_n`` (5000): where the n x n kernel matrix has to be decomposed (Gaussian kernel, or
  cosine with fewer features than samples) only the first ``max_n`` samples enter (the
  samples are i.i.d., so this is a random subset): the eigendecomposition takes O(n^3) time
  and 8 n^2 bytes (5000: 200 MB, ~40 s on one CPU core). The cosine kernel with d < n uses
  the d x d dual X^T X / n and every sample, as the authors' ``score_dual`` does.

Reported: ``vendi``; ``n`` (samples used), ``bandwidth`` (None for cosine), ``feature_dim``
(2 for 2D points, 768 for the classifier's three digits, 2048 for Inception...) and
``nonfinite_share`` (samples with NaN or inf, left out). The score grows with n towards its
population value (the diagonal of K/n weighs 1/n): compare scores at equal n, features,
kernel and bandwidth.
"""

from __future__ import annotations

from pydantic import Field

from aegan.metrics.base import EvalContext, register_metric
from aegan.metrics.kernel_entropy import KernelEntropyParams, scored, vendi_rows, vendi_score


class VendiParams(KernelEntropyParams):
    max_n: int = Field(5000, gt=1, le=50_000)  # samples of an n x n eigendecomposition (module docstring)


def vendi_kernel(features: str, ctx: EvalContext) -> str:
    """``kernel: auto``: cosine on Inception features and on pixels (the authors'), Gaussian otherwise."""
    if features == "inception" or (features == "raw" and len(getattr(ctx.dataset, "shape", ())) > 1):
        return "cosine"
    return "gaussian"


@register_metric("vendi", VendiParams)
def vendi_metric(ctx: EvalContext, p: VendiParams) -> dict[str, float | None]:
    return scored(ctx, p, vendi_kernel, lambda f, kernel, bandwidth: vendi_score(f, kernel, bandwidth, p.max_n),
                  name="vendi", rows=lambda n, d, kernel: vendi_rows(n, d, kernel, p.max_n))
