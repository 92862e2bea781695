"""Loss terms several methods share: the autoencoding and penalty terms of the seed papers.

Each function takes the nets of a step (a mapping name -> module) and tensors, and returns
an unweighted scalar loss (the method multiplies it by its own weight), so that any
method's phases can add any of them. ``AdaptiveDecay`` holds the two-stage schedule of
000 Algorithm 1 as plain numbers, for a method's ``state_dict``.

- reconstruction through an encoder: ``reconstruct`` + ``reconstruction`` (000 Eq. 3, 001 Eq. 1)
- latent discriminator (adversarial-autoencoder style, 000 App. C): ``latent_discriminator_loss``
  for D_z, ``latent_matching_loss`` for the encoder
- adaptive decay alpha_L (000 Sec. 3): ``AdaptiveDecay``
- gradient penalties (003 Sec. 6.4; R1/R2 of Mescheder et al. 2018): ``gradient_penalty``
- reconstruction from discriminator features (GAN-RL, 003 Eq. 3): ``feature_reconstruction``, ``attach_feature_map``
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

from torch import Tensor, nn

from aegan.losses import adversarial as adv
from aegan.losses import penalties
from aegan.losses import reconstruction as rec
from aegan.losses.adaptive import adaptive_weight

Nets = Mapping[str, nn.Module]
Distance = Literal["l2", "squared_l2", "l1"]
DISTANCES = {"l2": rec.l2, "squared_l2": rec.squared_l2, "l1": rec.l1}


# -- reconstruction through an encoder -----------------------------------------------------
def reconstruct(nets: Nets, x: Tensor, encoder: str = "encoder", generator: str = "generator") -> tuple[Tensor, Tensor]:
    """(E(x), G(E(x))); G runs with ``source="encoder"`` (separate BN statistics, 001 App. B)."""
    code = nets[encoder](x)
    return code, nets[generator](code, source="encoder")


def reconstruction(x: Tensor, x_hat: Tensor, distance: Distance = "squared_l2",
                   reduction: rec.Reduction = "sum") -> Tensor:
    """E_x d(x, x_hat): d summed over data dimensions (``sum``) or averaged per element (``mean``)."""
    return DISTANCES[distance](x, x_hat, reduction)


# -- latent discriminator (adversarial autoencoder) ------------------------------------------
def latent_discriminator_loss(dz: nn.Module, codes: Tensor, prior_codes: Tensor) -> Tensor:
    """BCE of D_z: prior codes are "real", encoder codes (detached) are "fake"."""
    real, fake = dz(prior_codes), dz(codes.detach())
    return adv.discriminator_bce(real, fake)


def latent_matching_loss(dz: nn.Module, codes: Tensor) -> Tensor:
    """-E log D_z(E(x)) (non-saturating): moves the encoder's codes towards the prior."""
    return adv.generator_nonsaturating(dz(codes))


# -- adaptive decay (000 Algorithm 1) ----------------------------------------------------------
class AdaptiveDecay:
    """The two stages of GAN+AE+alpha_L.

    Stage 1 (pre-training): the adversarial term of G is off (alpha_L = 0); after each step
    whose mean reconstruction error is < 1/alpha, stage 2 starts with the next step.
    Stage 2: alpha_L = min(alpha * mean error, 1), computed from the error before the
    update and detached. ``stage``, ``alpha_l`` and ``switch_step`` (the first step of stage
    2, None before it) are plain numbers for checkpoints and records.
    """

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.stage = 1
        self.switch_step: int | None = None
        self._alpha_l: Tensor | float = 0.0

    @property
    def alpha_l(self) -> float:
        return float(self._alpha_l)

    def observe(self, mean_error: Tensor, step: int = 0) -> Tensor | float:
        """Feed step ``step``'s mean reconstruction error (before the update); returns alpha_L."""
        if self.stage == 1:
            self._alpha_l = 0.0
            if float(mean_error) < 1.0 / self.alpha:
                self.stage, self.switch_step = 2, step + 1
        else:
            self._alpha_l = adaptive_weight(mean_error, self.alpha)
        return self._alpha_l

    def state_dict(self) -> dict[str, Any]:
        return {"stage": int(self.stage), "alpha_l": self.alpha_l, "switch_step": self.switch_step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.stage = int(state["stage"])
        self._alpha_l = float(state["alpha_l"])
        self.switch_step = state.get("switch_step")  # checkpoints before 2026-12-07 lack it


# -- gradient penalties (003 Sec. 6.4; Mescheder et al. 2018) ---------------------------------
PenaltyKind = Literal["gp", "dragan", "r1", "r2"]


def gradient_penalty(kind: PenaltyKind, d: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """(||grad D||_2 - 1)^2 on real/fake interpolates ("gp", GAN-GP) or near the data
    ("dragan"); ||grad D||_2^2 on the real batch ("r1") or on the generated one ("r2"), the
    zero-centred penalties of Mescheder et al. 2018, Sec. 4.1 (their gamma/2 is the caller's
    weight). Every kind is unweighted and averaged over the batch."""
    if kind == "gp":
        return penalties.interpolate_gradient_penalty(d, real, fake)
    if kind == "dragan":
        return penalties.dragan_penalty(d, real)
    if kind == "r1":
        return penalties.zero_centred_penalty(d, real)
    if kind == "r2":
        return penalties.zero_centred_penalty(d, fake)
    raise ValueError(f"unknown gradient penalty {kind!r}; accepted: gp, dragan, r1, r2")


# -- reconstruction from discriminator features (GAN-RL) -------------------------------------
class FeatureMap(nn.Module):
    """The map from D's features D_F(x) to G's second entry (``from_hidden``).

    003 Sec. 6: "the output of flatten layer of the discriminator is the input of the batch
    normalization layer of the generator ... we do not make any changes to the network
    structure". Where D's ``feature_dim`` equals G's ``hidden_dim`` (every family here: the
    dcgan and conv presets and the MLPs) the map is the identity and holds no parameter.
    Only for a pair of nets whose sizes differ is it the smallest map that fits, one Linear
    layer (no activation, so no feature is dropped).
    """

    def __init__(self, feature_dim: int, hidden_dim: int):
        super().__init__()
        self.linear = None if feature_dim == hidden_dim else nn.Linear(feature_dim, hidden_dim)

    def forward(self, features: Tensor) -> Tensor:
        return features if self.linear is None else self.linear(features)


def attach_feature_map(discriminator: nn.Module, generator: nn.Module) -> None:
    """Give G the map from D's features as its submodule ``feature_map``: trained with G where
    it has parameters; the identity (no parameter, no state) where the sizes match."""
    generator.add_module("feature_map", FeatureMap(discriminator.feature_dim, generator.hidden_dim))


def feature_reconstruction(nets: Nets, x: Tensor, distance: Distance = "l1", reduction: rec.Reduction = "mean") -> Tensor:
    """L_X = E ||G(D_F(x)) - x||_1 (003 Eq. 3): differentiable in D's features and G.

    D's features enter G at the input of its first batch norm, skipping G's first linear
    layer (003 Fig. 4), through G's ``feature_map`` (the identity where sizes match).
    """
    g = nets["generator"]
    h = g.feature_map(nets["discriminator"].features(x))
    return reconstruction(x, g.from_hidden(h, source="encoder"), distance, reduction)
