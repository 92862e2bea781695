"""Minibatch discrimination (Salimans et al. 2016, Sec. 3.2) and a discriminator that uses it.

The layer lets D compare each sample with the rest of its batch, so that a collapsed batch
(all samples alike) is easy to tell from a diverse one.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from aegan.losses.divergences import LOG2E, exp2_floor

TILE_ELEMENTS = 1 << 18  # (kernels x rows x cols) per tile on the CPU: the tile's temporaries stay in cache


def _blocks(kernels: int, n: int, device: torch.device) -> list[tuple[int, int]]:
    """Row/column blocks of the N x N pair matrix for tiles of about ``TILE_ELEMENTS``."""
    if device.type != "cpu":
        return [(0, n)]  # one launch per op beats cache-sized tiles on a GPU
    size = max(8, int(math.sqrt(TILE_ELEMENTS / max(kernels, 1))))
    count = max(1, round(n / size))
    edges = [round(k * n / count) for k in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


class _L1KernelSums(torch.autograd.Function):
    """m (C, B, N) -> o (B, N), o[b, i] = sum_j exp(-sum_c |m[c, b, i] - m[c, b, j]|).

    The same sum as ``exp(-torch.cdist(M, M, p=1)).sum(-1)``, computed in tiles of the pair
    matrix, upper triangle only (the matrix is symmetric: an off-diagonal tile adds its row
    sums to its rows and its column sums to its columns), with the exp kept for the
    backward. exp(-l1) is exp2(-l1 * LOG2E), clamped where it would leave the normal range
    (< 1.2e-38 in float32): ``losses.divergences.exp2_floor`` says why. The gradient: d o / d m
    summed against go is sum_j W_ij sign(m_i - m_j), W_ij = -(go_i + go_j) exp(-l1_ij), and
    sign(0) = 0 as in cdist's backward. Once differentiable (no gradient penalty goes through
    this layer).
    """

    @staticmethod
    def forward(ctx, m: Tensor) -> Tensor:
        C, B, N = m.shape
        blocks, floor = _blocks(B, N, m.device), exp2_floor(m.dtype)
        o = m.new_zeros(B, N)
        tiles = []
        for a, (i0, i1) in enumerate(blocks):
            for j0, j1 in blocks[a:]:
                mi, mj = m[:, :, i0:i1, None], m[:, :, None, j0:j1]
                l1 = torch.sub(mi[0], mj[0]).abs_()
                tmp = torch.empty_like(l1)
                for c in range(1, C):
                    l1.add_(torch.sub(mi[c], mj[c], out=tmp).abs_())
                e = l1.mul_(-LOG2E).clamp_min_(floor).exp2_()  # exp(-l1), (B, rows, cols); see exp2_floor
                o[:, i0:i1] += e.sum(2)
                if j0 != i0:
                    o[:, j0:j1] += e.sum(1)
                if ctx.needs_input_grad[0]:
                    tiles.append(e)
        ctx.save_for_backward(m, *tiles)
        ctx.blocks = blocks
        return o

    @staticmethod
    @once_differentiable
    def backward(ctx, go: Tensor) -> Tensor:
        m, *saved = ctx.saved_tensors
        blocks, tiles = ctx.blocks, iter(saved)
        go = go.to(m.dtype).contiguous()  # o's grad arrives transposed (o is returned as o.t())
        grad = torch.zeros_like(m)
        for a, (i0, i1) in enumerate(blocks):
            for j0, j1 in blocks[a:]:
                w = torch.add(go[:, i0:i1, None], go[:, None, j0:j1]).mul_(next(tiles)).neg_()
                tmp = torch.empty_like(w, memory_format=torch.contiguous_format)
                for c in range(m.shape[0]):
                    torch.sub(m[c, :, i0:i1, None], m[c, :, None, j0:j1], out=tmp).sign_().mul_(w)
                    grad[c, :, i0:i1] += tmp.sum(2)
                    if j0 != i0:
                        grad[c, :, j0:j1] -= tmp.sum(1)  # sign(m_j - m_i) = -sign(m_i - m_j)
        return grad


def l1_kernel_sums(m: Tensor) -> Tensor:
    """m (N, B, C) -> o (N, B), o[i, b] = sum_j exp(-||m[i, b] - m[j, b]||_1), j = i included.

    Equal to ``exp(-torch.cdist(M, M, p=1)).sum(2).t()`` for M = m.transpose(0, 1) (values
    and gradients, to rounding) at a fraction of its cost on the CPU. Computed in at least
    float32 (as cdist is under autocast).
    """
    if m.dtype not in (torch.float32, torch.float64):
        m = m.float()
    return _L1KernelSums.apply(m.permute(2, 1, 0).contiguous()).t()


class MinibatchDiscrimination(nn.Module):
    """f (N, A) -> o (N, B): M = f T reshaped to (N, B, C); o_b(x_i) = sum_j exp(-||M_i,b - M_j,b||_1).

    The sum runs over the whole batch, j = i included (the paper's sum over j = 1..n and the
    authors' code), so a batch of n identical samples gives o = n in every kernel. ``T`` is
    initialised N(0, 0.05^2) as in the authors' code (improved-gan, ``MinibatchLayer``).
    The O(N^2 B C) pair sums go through ``l1_kernel_sums`` (tiled, symmetric, its own backward).
    """

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5, init_std: float = 0.05):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * init_std)

    def forward(self, f: Tensor) -> Tensor:
        return l1_kernel_sums((f @ self.T).view(-1, self.kernels, self.kernel_dim))  # (N, B)


class MinibatchDiscriminator(nn.Module):
    """head(cat(features(x), o(features(x)))): D's features, the minibatch layer, a new head.

    Its output depends on the whole batch, so it is ``batch_coupled``: real and fake
    batches must go through it separately (``methods.base.discriminate`` does that).
    """

    batch_coupled = True

    def __init__(self, features: nn.Module, feature_dim: int, kernels: int = 100, kernel_dim: int = 5):
        super().__init__()
        self.features = features
        self.feature_dim = feature_dim
        self.minibatch = MinibatchDiscrimination(feature_dim, kernels, kernel_dim)
        self.head = nn.Linear(feature_dim + kernels, 1)
        self.out_dim = 1

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x).flatten(1)
        return self.head(torch.cat([f, self.minibatch(f)], dim=1)).squeeze(-1)
