"""The method contract: networks, hyper-parameters and ordered phases of named loss terms.

A method never calls ``backward()`` or ``step()``: it returns, for each training step, the
phases of that step. A phase names the networks whose optimisers step and a function that
returns named, already weighted loss terms; ``aegan.train`` sums them, back-propagates
into the updated networks only, steps their optimisers and logs everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Literal, Mapping, Sequence

import torch
from pydantic import Field, PositiveInt, model_serializer, model_validator
from torch import Tensor, nn

from aegan.batch import Batch
from aegan.nets.init import initialise_nets
from aegan.nets.packing import attach_packing, pack_of
from aegan.nets.spectral import apply_spectral_norm
from aegan.registry import Registry
from aegan.strict import StrictModel

Nets = Mapping[str, nn.Module]
Scratch = dict[str, Any]  # per-step scratch space shared by the phases of one step


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


MAX_PACK = 64
# options every method config has, left out of saved configs at these values (so that
# configs saved before an option existed still match)
OPTION_DEFAULTS = {"generator_steps": 1, "pack": 1, "pack_batch": "samples", "spectral_norm": False}


class MethodConfig(StrictModel):
    """Base of every method's hyper-parameters: frozen, unknown keys, inf/NaN and booleans for numbers rejected.

    generator_steps: G updates per training step (each on a fresh batch and fresh z), honoured
      by every method through ``Method.step_phases``: the phases that update the generator
      alone are repeated. A table's schedule, shared by its rows (``methods: {all: ...}`` in
      a config): 003 Sec. 6 "we update the generator twice for each discriminator update",
      for every model of its tables. Left out of the saved config when 1.

    Two options of the discriminators on data samples (``Method.discriminators_on_samples``),
    for any method that has one; a row of a table sets them like any parameter
    (``{name: gan_ae, pack: 2}``, ``{name: wgan_gp, spectral_norm: true}``):
    pack: m, PacGAN's packing (Lin et al. 2018; ``aegan.nets.packing``): D decides on packs of
      m samples concatenated along the first data axis, real packs of m real samples and
      generated packs of m generated ones; its first layer is m times wider. 1 is off.
    pack_batch: what ``train.batch_size`` counts under packing. "samples" (default): every row
      of a table draws ``batch_size`` real samples and as many generated ones per step, so D
      sees batch_size / m packs of each (batch_size must be a multiple of m): the table's
      data and G budget per step are the same for every row. "packs": PacGAN's code, whose
      batch counts packs (``batch_size`` 100 packs of m fresh samples on the 2D mixtures, 64
      on stacked MNIST): ``batch_size`` * m samples per step, m times the budget of the other
      rows, a labelled variant.
    spectral_norm: SN-GAN's spectral normalisation (Miyato et al. 2018; ``aegan.nets.spectral``)
      of every linear and conv weight of those discriminators, one power iteration per
      forward pass. They are built without batch norm (as ``critic_batchnorm``): SN-GAN's
      discriminators hold none, and batch statistics after a normalised layer rescale it
      by the batch, outside the Lipschitz bound of their Sec. 2.1 (a product over the layers).
    """

    # parameters of a subclass whose None ("the table's") is left out of saved configs
    omit_when_none: ClassVar[frozenset[str]] = frozenset()

    generator_steps: PositiveInt = 1
    pack: int = Field(1, ge=1, le=MAX_PACK)
    pack_batch: Literal["samples", "packs"] = "samples"
    spectral_norm: bool = False

    @model_validator(mode="after")
    def _pack_batch_needs_packs(self):
        if self.pack_batch != "samples" and self.pack == 1:
            raise ValueError("pack_batch: packs needs pack > 1 (batch_size counts packs of pack samples)")
        return self

    @model_serializer(mode="wrap")
    def _omit_default_schedule(self, handler) -> dict[str, Any]:
        out = handler(self)
        for key, off in OPTION_DEFAULTS.items():
            if key in out and out[key] == off and type(out[key]) is type(off):
                out.pop(key)
        for key in self.omit_when_none:
            if key in out and out[key] is None:
                out.pop(key)
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
    # the nets on data samples that ``pack`` and ``spectral_norm`` (MethodConfig) apply to;
    # None: ``data_discriminators`` (a method that adds its own instance noise sets those to
    # () but still has a D on samples)
    sample_discriminators: ClassVar[tuple[str, ...] | None] = None
    # why this method's discriminators cannot take packs ("" where they can): a method that
    # needs D's output or features per sample (GAN-RL decodes each sample from its features)
    pack_refusal: ClassVar[str] = ""
    # False: the method's discriminator holds no batch norm whatever ``model.d_batchnorm``
    # says (gradient-penalty critics: the penalty must be per sample; spectral normalisation,
    # set per instance by ``spectral_norm``); ``build_method_nets`` hands its build_nets a
    # factory from ``factory.for_method(self)``
    critic_batchnorm: ClassVar[bool] = True
    # True where the optimiser steps per training step change during a run (GAN+AE+alpha_L's
    # stage 2 adds G's adversarial update): a step's updates are then not the run's
    schedule_changes: ClassVar[bool] = False
    Config: ClassVar[type[MethodConfig]] = MethodConfig

    def __init__(self, config: MethodConfig, latent_dim: int):
        self.config = config
        self.latent_dim = latent_dim
        if getattr(config, "spectral_norm", False):
            self.critic_batchnorm = False  # SN-GAN's discriminators hold no batch norm

    @classmethod
    def discriminators_on_samples(cls) -> tuple[str, ...]:
        """The nets that judge data samples, real or generated: where packing and spectral
        normalisation go."""
        return cls.data_discriminators if cls.sample_discriminators is None else cls.sample_discriminators

    def batch_samples(self, batch_size: int) -> int:
        """Real samples the loop draws per batch for ``train.batch_size``: the batch size, or
        ``pack`` times it under ``pack_batch: packs`` (the batch counts packs)."""
        if getattr(self.config, "pack_batch", "samples") == "packs":
            return batch_size * self.config.pack
        return batch_size

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


def log_diagnostics(scratch: Scratch, **values: Tensor | float) -> None:
    """Store diagnostics (not losses) for the log: mean D outputs, alpha_L, stage, ..."""
    diag = scratch.setdefault("diagnostics", {})
    for key, value in values.items():
        diag[key] = value.detach() if isinstance(value, Tensor) else torch.tensor(float(value))


def discriminate(d: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """D on real and fake in one forward pass (half the kernel launches of two passes).

    Only for discriminators without batch statistics: a BN discriminator must see real
    and fake batches separately, so the factory marks such nets ``batch_coupled``. A packed
    D (``aegan.nets.packing``) returns one output per pack: real.shape[0] / m of them first.
    """
    if getattr(d, "batch_coupled", False):
        return d(real), d(fake)
    return split_real_fake(d, d(torch.cat([real, fake])), real.shape[0])


def split_real_fake(d: nn.Module, out: Tensor, n_real: int) -> tuple[Tensor, Tensor]:
    """D's output on cat([real, fake]) split into its real and fake parts: n_real samples,
    n_real / m packs for a D that packs m (a real part that is no multiple of m would put
    real and generated samples in one pack: an error)."""
    m = pack_of(d)
    if n_real % m:
        raise ValueError(f"{n_real} real samples do not split into packs of {m}: real and generated samples "
                         "would share a pack")
    return out[: n_real // m], out[n_real // m:]


def build_method_nets(method: Method, factory, init: str = "default") -> dict[str, nn.Module]:
    """The nets of ``method`` as a run builds them: ``build_nets`` on ``factory`` (packed
    where the config's ``pack`` > 1: its ``discriminator()`` builds D for packs; without
    batch norm in D where ``critic_batchnorm`` is off), initialised by ``init``
    (``aegan.nets.init``), then, on each net of ``discriminators_on_samples``: packing of its
    inputs (``pack``) and spectral normalisation of its layers (``spectral_norm``), the latter
    after the initialisation, which writes the weights themselves."""
    config = method.config
    pack = getattr(config, "pack", 1)
    nets = initialise_nets(method.build_nets(factory.for_method(method).packed(pack)), init)
    for name in method.discriminators_on_samples():
        if pack > 1:
            attach_packing(nets[name], pack)
        if getattr(config, "spectral_norm", False):
            apply_spectral_norm(nets[name])
    return nets


METHODS: Registry[type[Method]] = Registry("method")


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: add a method to the registry under ``cls.name``."""
    METHODS.add(cls.name, cls)
    return cls
