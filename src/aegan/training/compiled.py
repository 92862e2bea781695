"""Where and how the nets run: the device, ``torch.compile`` / CUDA graphs, mixed precision."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from aegan.config import ConfigError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``train.device`` (auto, cpu, cuda, cuda:N, mps) as a device this machine has."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {name!r} asked for but CUDA is not available; use auto or cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"train.device: {name!r} asked for but this machine has {torch.cuda.device_count()} GPU(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device: 'mps' asked for but this torch build or machine has no MPS; use auto or cpu")
    return device


def compiled_nets(nets: nn.ModuleDict, mode: bool | str, device: torch.device,
                  retain_graph: bool = False) -> dict[str, nn.Module]:
    """The nets the phases call (``train.compile``): the nets themselves (false), wrapped in
    ``torch.compile`` (true), or compiled with mode="reduce-overhead" (``graph``: each net's
    forward and backward replayed as CUDA graphs; CUDA only). Parameters, checkpoints and
    evaluation use the nets themselves, so the wrapping never shows in a state dict.
    ``retain_graph`` (``train.grad_per_term``: one backward per term through the same graph)
    turns off AOTAutograd's donated buffers, which allow a compiled backward to run once only.
    Double backward (gradient penalties, unrolled GAN) calls the eager module behind the
    wrapper (``losses.penalties``, ``methods.unrolled``)."""
    if not mode:
        return dict(nets.items())
    if retain_graph:
        try:
            import torch._functorch.config as functorch_config

            functorch_config.donated_buffer = False
        except (ImportError, AttributeError):  # older torch: no donated buffers
            pass
    if mode == "graph":
        if device.type != "cuda":
            raise ConfigError(f"train.compile: graph captures CUDA graphs and needs a CUDA device; this run's device "
                              f"is {device.type} (train.device): use compile: false (eager) or true (torch.compile)")
        return {name: torch.compile(net, mode="reduce-overhead", dynamic=False) for name, net in nets.items()}
    return {name: torch.compile(net) for name, net in nets.items()}


def mark_step_begin(mode: bool | str) -> None:
    """Under ``train.compile: graph``, a new training iteration for CUDA graph trees: the last
    step's outputs may be reused."""
    if mode == "graph":
        torch.compiler.cudagraph_mark_step_begin()


def autocast(amp: bool, device: torch.device):
    """``train.amp``: bfloat16 autocast on CUDA; elsewhere nothing."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
