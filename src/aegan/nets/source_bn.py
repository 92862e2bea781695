"""Batch norm with running statistics per code source (001 App. B): G sees prior codes z and
encoder codes E(x) in batches of their own, each with its own statistics, sharing the affine
parameters. Its own module, so that the initialisers (``nets.init``) and the families
(``nets.conv``, ``nets.resnet``) import it without importing each other."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SOURCES = ("prior", "encoder")


class SourceBatchNorm(nn.Module):
    """Batch norm with one set of running statistics per code source and shared affine
    parameters. Works on (N, C) and (N, C, H, W).

    ``batches_<source>`` counts the training batches each source's statistics have seen. In
    eval mode a source that never had one uses the other source's statistics, as a single
    batch norm would: a method that trains G on encoder codes only (AE, GAN+AE) then samples
    G(z) with the statistics it was trained with, not with the initial (0, 1).
    """

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        for source in SOURCES:
            self.register_buffer(f"running_mean_{source}", torch.zeros(num_features))
            self.register_buffer(f"running_var_{source}", torch.ones(num_features))
            self.register_buffer(f"batches_{source}", torch.zeros((), dtype=torch.long))

    def _source_buffers(self, source: str) -> tuple[Tensor, Tensor, Tensor]:
        return tuple(getattr(self, f"{kind}_{source}") for kind in ("running_mean", "running_var", "batches"))

    def statistics(self, source: str) -> tuple[Tensor, Tensor]:
        """The running (mean, var) eval mode normalises ``source`` batches with: its own, or
        the other source's where it never had a training batch (no host sync)."""
        mean, var, batches = self._source_buffers(source)
        other_mean, other_var, _ = self._source_buffers(SOURCES[1 - SOURCES.index(source)])
        return torch.where(batches > 0, mean, other_mean), torch.where(batches > 0, var, other_var)

    def forward(self, x: Tensor, source: str = "prior") -> Tensor:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if self.training:
            mean, var, batches = self._source_buffers(source)
            batches.add_(1)
        else:
            mean, var = self.statistics(source)
        return F.batch_norm(x, mean, var, self.weight, self.bias, self.training, self.momentum, self.eps)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Checkpoints written before the batch counters: a source counts as trained where its
        statistics moved from their initial values."""
        for source in SOURCES:
            mean = state_dict.get(f"{prefix}running_mean_{source}")
            var = state_dict.get(f"{prefix}running_var_{source}")
            if f"{prefix}batches_{source}" not in state_dict and mean is not None and var is not None:
                state_dict[f"{prefix}batches_{source}"] = (mean.ne(0).any() | var.ne(1).any()).long()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"{self.num_features}, sources={SOURCES}"
