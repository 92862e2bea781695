"""Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks", Sec. 2.1-2.2, Algorithm 1).

Each weight W of D's linear and convolutional layers is replaced by W / sigma(W) (their
Eq. 8), sigma(W) its largest singular value (a convolution's kernel taken as the matrix
(out, in * k * k), as their code and torch do), estimated by power iteration with a vector
u kept between calls: one iteration per forward pass in training mode (Algorithm 1: one
round of the power iteration per update; their code's ``SNLinear.W_bar`` runs it on every
call, so the G phase's forward through D counts one too); in eval mode u stays fixed. This is
torch's own parametrisation, ``torch.nn.utils.parametrizations.spectral_norm`` with
``n_power_iterations=1`` (eps 1e-12); it starts u from 15 iterations on the initial weight.

Every layer with a weight gets it, the output layer included (Sec. 2.1 bounds the
Lipschitz constant of the whole of D by the product of every layer's spectral norm). Parameters outside
linear and conv layers (minibatch discrimination's tensor T) are left as they are.
``apply_spectral_norm`` runs after ``aegan.nets.init`` (the initialisations write the
weights themselves, ``weight.original`` under the parametrisation). State dicts hold
``parametrizations.weight.original`` and the vectors ``_u``, ``_v`` (plain tensors: a
checkpoint of such a net loads with ``weights_only``).
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from aegan.nets.init import WEIGHTED

POWER_ITERATIONS = 1  # per forward pass in training mode (Miyato et al. Algorithm 1)


def spectral_layers(net: nn.Module) -> list[nn.Module]:
    """The layers of ``net`` that spectral normalisation applies to (linear and conv)."""
    return [m for m in net.modules() if isinstance(m, WEIGHTED)]


def apply_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectrally normalise the weight of every linear and conv layer of ``net`` in place."""
    for layer in spectral_layers(net):
        if not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer, n_power_iterations=POWER_ITERATIONS)
    return net
