"""Pure loss functions: tensors in, scalar tensor out; no device moves, no globals."""

from aegan.losses.adversarial import (
    bce_real,
    bce_fake,
    discriminator_bce,
    generator_minimax,
    generator_nonsaturating,
)

__all__ = [
    "bce_real",
    "bce_fake",
    "discriminator_bce",
    "generator_minimax",
    "generator_nonsaturating",
]
