"""``train.init_from`` / ``init_nets`` (warm start), ``train.freeze`` and ``train.instance_noise``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn

from aegan.checkpoint import load_checkpoint
from aegan.config import ConfigError
from aegan.methods import Phase
from aegan.noise import add_instance_noise, linear_anneal
from aegan.training.state import RunPaths


def warm_start(nets: nn.ModuleDict, source: str, names: list[str] | None) -> None:
    """``train.init_from``: copy nets' weights from a checkpoint (a file or a run directory)."""
    path = Path(source)
    path = RunPaths(path).checkpoint if path.is_dir() else path
    if not path.is_file():
        raise ConfigError(f"train.init_from: {source} is neither a checkpoint file nor a run directory "
                                "with checkpoints/last.pt")
    saved = load_checkpoint(path)["nets"]
    wanted = names if names is not None else [n for n in nets if n in saved]
    missing = [n for n in wanted if n not in saved]
    if missing or not wanted:
        raise ConfigError(f"train.init_from: {path} holds the nets {sorted(saved)}, not {missing or 'any of this method'}"
                         "; set train.init_nets to those to copy")
    for name in wanted:
        try:
            nets[name].load_state_dict(saved[name])
        except RuntimeError as err:  # another architecture: name the net and the fix
            raise ConfigError(f"train.init_from: net {name!r} of {path} does not fit this run's {name} "
                             f"(same model section needed): {str(err).splitlines()[0]}") from None


def without_frozen(phase: Phase, frozen: frozenset[str]) -> Phase | None:
    """``train.freeze``: the phase without the frozen nets among those it updates; None when
    it updates nothing else (the phase is skipped)."""
    if not frozen:
        return phase
    phase = dataclasses.replace(phase, updates=tuple(n for n in phase.updates if n not in frozen))
    return phase if phase.updates else None


def instance_noise_std(step: int, train) -> float:
    """The instance noise's standard deviation at ``step`` (annealed linearly to 0)."""
    return linear_anneal(step, train.instance_noise, train.instance_noise_steps)


def add_instance_noise_hooks(nets: nn.ModuleDict, discriminators: Iterable[str], train,
                             current_step: Callable[[], int]) -> None:
    """``train.instance_noise``: a forward pre-hook adds the annealed noise to the input of
    each data-space discriminator (on its ``features`` when it has them, so that methods
    reading D's features directly get noisy inputs too), in training mode only."""

    def hook(module: nn.Module, args: tuple) -> tuple | None:
        std = instance_noise_std(current_step(), train)
        if not module.training or std <= 0:
            return None
        return (add_instance_noise(args[0], std), *args[1:])

    for name in discriminators:
        net = nets[name]
        target = net.features if isinstance(getattr(net, "features", None), nn.Module) else net
        # under train.compile, outside the compiled graph: traced, the noise level (a Python number
        # that changes every step) would recompile the net every step; eager, the noise is drawn
        # exactly as without compile
        target.register_forward_pre_hook(torch.compiler.disable(hook) if train.compile else hook)
