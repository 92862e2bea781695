"""The method contract: networks, hyper-parameters and ordered phases of named loss terms.

A method never calls ``backward()`` or ``step()``: it returns, for each training step, the
phases of that step. A phase names the networks whose optimisers step and a function that
returns named, already weighted loss terms; ``aegan.train`` sums them, back-propagates
into the updated networks only, steps their optimisers and logs everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Mapping, Sequence

import torch
from pydantic import PositiveInt, model_serializer
from torch import Tensor, nn

from aegan.registry import Registry
from aegan.strict import StrictModel

Nets = Mapping[str, nn.Module]
Scratch = dict[str, Any]  # per-step scratch space shared by the phases of one step


@dataclass
class Batch:
    """One batch of real data; ``y`` holds labels where the dataset has them."""

    x: Tensor
    y: Tensor | None = None

    def __len__(self) -> int:
        return self.x.shape[0]


TermsFn = Callable[[Nets, Batch, Scratch], dict[str, Tensor]]


@dataclass(frozen=True)
class Phase:
    """One optimisation phase: sum ``terms``, back-propagate, step the ``updates`` nets.

    ``fresh_batch`` draws a new real batch for this phase (n_critic loops); the first phase
    of a step always gets one. ``after_step`` runs after the optimiser step (weight clipping).
    """

    name: str
    updates: tuple[str, ...]
    terms: TermsFn
    fresh_batch: bool = False
    after_step: Callable[[Nets], None] | None = None


class MethodConfig(StrictModel):
    """Base of every method's hyper-parameters: frozen, unknown keys, inf/NaN and booleans for numbers rejected.

    generator_steps: G updates per training step (each on a fresh batch and fresh z), honoured
      by every method through ``Method.step_phases``: the phases that update the generator
      alone are repeated. A table's schedule, shared by its rows (``methods: {all: ...}`` in
      a config): 003 Sec. 6 "we update the generator twice for each discriminator update",
      for every model of its tables. Left out of the saved config when 1.
    """

    generator_steps: PositiveInt = 1

    @model_serializer(mode="wrap")
    def _omit_default_schedule(self, handler) -> dict[str, Any]:
        out = handler(self)
        if out.get("generator_steps") == 1:
            out.pop("generator_steps")
        return out


class Method:
    """Base class. Subclasses set ``name``, ``summary``, ``nets``, ``Config`` and ``phases``."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for `aegan methods`
    paper: ClassVar[str] = ""
    nets: ClassVar[tuple[str, ...]] = ("generator", "discriminator")
    # the nets whose input is a data-space sample (real or generated): where
    # ``train.instance_noise`` adds its noise; () for methods without one
    data_discriminators: ClassVar[tuple[str, ...]] = ("discriminator",)
    # False: the method's discriminator holds no batch norm whatever ``model.d_batchnorm``
    # says (gradient-penalty critics: the penalty must be per sample); its build_nets asks
    # ``factory.for_method(self)`` for nets
    critic_batchnorm: ClassVar[bool] = True
    Config: ClassVar[type[MethodConfig]] = MethodConfig

    def __init__(self, config: MethodConfig, latent_dim: int):
        self.config = config
        self.latent_dim = latent_dim

    # -- networks ---------------------------------------------------------------------
    def build_nets(self, factory) -> dict[str, nn.Module]:
        """Build every net in ``self.nets``; the default covers G and D."""
        builders = {"generator": factory.generator, "discriminator": factory.discriminator, "encoder": factory.encoder}
        return {name: builders[name]() for name in self.nets}

    def optimizer_overrides(self, net: str) -> dict[str, Any]:
        """Per-net optimiser settings that differ from ``train`` (e.g. {"lr": 5e-5})."""
        return {}

    def lr_scale(self, net: str) -> float:
        """A factor on ``train.lr`` for this net (VLGAN's D learns 10x faster than G and E)."""
        return 1.0

    # -- one training step --------------------------------------------------------------
    def phases(self, step: int) -> Sequence[Phase]:
        raise NotImplementedError

    # whether some phase updates the generator alone (what ``generator_steps`` repeats); False
    # where G only trains jointly with an encoder (AE, AAE, BiGAN, Reg-GAN): the config refuses
    # generator_steps > 1 for such a method
    has_generator_phase: ClassVar[bool] = True
    # whether each repeated G step (``generator_steps`` > 1) draws a fresh real batch: yes where
    # G's loss reads data (GAN-RL's reconstruction), no where it does not (AGE), which keeps
    # the data stream of such a method as it was
    fresh_batch_per_generator_step: ClassVar[bool] = True

    def step_phases(self, step: int) -> Sequence[Phase]:
        """The phases the loop runs at ``step``: ``phases`` with each generator-only phase
        repeated ``config.generator_steps`` times."""
        return repeat_generator_phases(self.phases(step), getattr(self.config, "generator_steps", 1),
                                       self.fresh_batch_per_generator_step)

    # the learning-rate schedule's multiplier of this step (train.lr_decay), set by the loop
    # before each step: a method that re-implements an optimiser's update (unrolled GAN's
    # look-ahead Adam steps) scales its own learning rate by it
    lr_factor: float = 1.0

    # -- statistics of the whole batch under data parallelism ----------------------------
    def batch_mean(self, value: Tensor) -> Tensor:
        """The mean of a per-batch statistic over every rank's batch; the training loop
        replaces this identity under torchrun. A method whose state follows a batch
        statistic (BEGAN's k_t, alpha_L) reads it through this, so ranks agree on it."""
        return value

    # -- state that belongs in checkpoints ---------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state:
            raise ValueError(f"method {self.name!r} has no state but the checkpoint holds {sorted(state)}")

    def final_metrics(self) -> dict[str, float | None]:
        """Numbers of the method's state at the end of training, for its record's metrics
        (as ``method/<key>``): the stage and switch step of GAN+AE+alpha_L, say."""
        return {}

    # -- sampling ------------------------------------------------------------------------
    def prior(self, n: int, like: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), (n, latent_dim), on ``like``'s device and dtype."""
        return torch.randn(n, self.latent_dim, device=like.device, dtype=like.dtype, generator=generator)

    def generate(self, nets: Nets, z: Tensor) -> Tensor:
        """Samples from the model for codes ``z`` drawn from the prior."""
        return nets["generator"](z)

    # -- helpers shared by phases ------------------------------------------------------
    def fake(self, nets: Nets, batch: Batch, scratch: Scratch) -> Tensor:
        """G(z) for this step, computed once and shared by the phases (graph kept for G)."""
        if "fake" not in scratch:
            scratch["z"] = self.prior(len(batch), batch.x)
            scratch["fake"] = self.generate(nets, scratch["z"])
        return scratch["fake"]


def repeat_generator_phases(phases: Sequence[Phase], times: int, fresh_batch: bool = True) -> Sequence[Phase]:
    """Each phase that updates the generator alone, followed by ``times - 1`` copies
    ("generator_2", ...) that draw fresh z (the step's cached G(z) is dropped first) and,
    with ``fresh_batch``, a fresh batch: 003's two G updates per D update."""
    if times == 1:
        return phases
    out: list[Phase] = []
    for phase in phases:
        out.append(phase)
        if phase.updates == ("generator",):
            out += [replace(phase, name=f"{phase.name}_{i}", terms=_with_fresh_z(phase.terms), fresh_batch=fresh_batch)
                    for i in range(2, times + 1)]
    return out


def _with_fresh_z(terms: TermsFn) -> TermsFn:
    def fresh(nets: Nets, batch: Batch, scratch: Scratch) -> dict[str, Tensor]:
        scratch.pop("fake", None)
        scratch.pop("z", None)
        return terms(nets, batch, scratch)
    return fresh


def record(scratch: Scratch, **values: Tensor | float) -> None:
    """Store diagnostics (not losses) for the log: mean D outputs, alpha_L, stage, ..."""
    diag = scratch.setdefault("diagnostics", {})
    for key, value in values.items():
        diag[key] = value.detach() if isinstance(value, Tensor) else torch.tensor(float(value))


def discriminate(d: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """D on real and fake in one forward pass (half the kernel launches of two passes).

    Only for discriminators without batch statistics: a BN discriminator must see real
    and fake batches separately, so the factory marks such nets ``batch_coupled``.
    """
    if getattr(d, "batch_coupled", False):
        return d(real), d(fake)
    out = d(torch.cat([real, fake]))
    return out[: real.shape[0]], out[real.shape[0]:]


METHODS: Registry[type[Method]] = Registry("method")


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: add a method to the registry under ``cls.name``."""
    METHODS.add(cls.name, cls)
    return cls
