"""Data-parallel training over several processes (one per GPU), launched by torchrun.

Each rank draws its own real batches and prior samples; after every phase's backward the
gradients of the updated nets are averaged across ranks in one collective, so all ranks
take identical optimiser steps and their parameters stay equal. Averaging gradients by
hand (instead of wrapping nets in DistributedDataParallel) keeps the method contract
intact: a phase may call a net several times, and a generator phase back-propagates
through D without D's parameters receiving gradients, both of which DDP's reducer forbids.
Only rank 0 writes logs, snapshots, checkpoints and metrics.

    torchrun --nproc_per_node=8 -m aegan.cli train CONFIG [overrides]
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def average_gradients(self, params: list[nn.Parameter]) -> None:
        """All-reduce (mean) the gradients of ``params`` in one flattened collective."""
        grads = [p.grad for p in params if p.grad is not None]
        if not self.active or not grads:
            return
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= self.world_size
        for grad, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
            grad.copy_(synced)

    def broadcast_parameters(self, module: nn.Module) -> None:
        """Make every rank start from rank 0's parameters and buffers."""
        if self.active:
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, src=0)

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of ``value`` over ranks (a new tensor; ``value`` itself is unchanged)."""
        if not self.active:
            return value
        total = value.detach().clone()
        dist.all_reduce(total)
        return total / self.world_size

    def gather(self, obj):
        """Every rank's ``obj`` (tensors and plain containers), in rank order, on every rank."""
        if not self.active:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def setup(device: str) -> Context:
    """A ``Context`` from torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK); single
    process when WORLD_SIZE is absent or 1. Uses NCCL on CUDA, Gloo on the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device != "cpu" and torch.cuda.is_available()
    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return Context(rank, world, local)
