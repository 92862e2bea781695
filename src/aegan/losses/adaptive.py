"""The adaptive decay of GAN+AE+alpha_L (000 Sec. 3, Algorithm 1).

alpha_L = min(alpha * E L(x, G(E(x))), 1) weighs the discriminator's pull on G; it is
computed before the update and treated as a constant, so it is returned detached.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def adaptive_weight(mean_error: Tensor, alpha: float) -> Tensor:
    """alpha_L = min(alpha * mean_error, 1), detached (000 Algorithm 1 line 12)."""
    return torch.clamp(alpha * mean_error.detach(), max=1.0)


def generator_decayed_minimax(fake_logits: Tensor, alpha_l: Tensor | float) -> Tensor:
    """E log(1 - alpha_L D(H(x))) with D = sigmoid(logits) (000 Algorithm 1 line 14).

    Exact and stable for alpha_L in [0, 1]: log(1 - a s(d)) = logaddexp(log(1 - a), -d)
    - softplus(-d); alpha_L = 1 gives the minimax loss -softplus(d), alpha_L = 0 gives 0.
    """
    a = torch.as_tensor(alpha_l, dtype=fake_logits.dtype, device=fake_logits.device).detach().clamp(0.0, 1.0)
    return (torch.logaddexp(torch.log1p(-a), -fake_logits) - F.softplus(-fake_logits)).mean()
