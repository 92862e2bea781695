"""Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017; 004 "Noisy Input").

Gaussian noise added to every input of D, real and generated, makes the two distributions
overlap so that D cannot separate them perfectly and G's gradients do not vanish. The
noise std is annealed to zero so that the model still converges to the noiseless data.
``train.instance_noise`` applies them to the data-space discriminators of any method (a
forward pre-hook set by the training loop); ``methods/instance_noise.py`` is NS-GAN + them.
"""

from __future__ import annotations

import torch
from torch import Tensor


def linear_anneal(step: int, initial: float, steps: int) -> float:
    """initial * max(0, 1 - step / steps): linear from ``initial`` at step 0 to 0 at ``steps``."""
    if steps <= 0:
        return 0.0
    return float(initial) * max(0.0, 1.0 - step / steps)


def add_instance_noise(x: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """x + std * N(0, I), fresh noise per element; x itself when std is 0 (no graph change)."""
    if std <= 0:
        return x
    noise = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
    return x + std * noise
