"""Weight initialisations a paper prescribes, applied to a method's nets after they are built.

``default`` leaves PyTorch's own (Kaiming-uniform weights and uniform biases for linear and
conv layers); ``xavier`` is Glorot and Bengio's normalised initialisation, uniform on
[-a, a] with a = sqrt(6 / (fan_in + fan_out)), and zero biases (002 Sec. 5: "The weights of
each model were initialized using the Xavier method"). Normalisation layers keep their
(1, 0) scale and shift.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

Init = Literal["default", "xavier"]
WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def initialise(net: nn.Module, init: Init) -> nn.Module:
    """Re-initialise the linear and conv layers of ``net`` in place by ``init``; returns ``net``."""
    if init == "default":
        return net
    for module in net.modules():
        if isinstance(module, WEIGHTED):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net
