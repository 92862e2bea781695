"""Weight initialisations a paper prescribes (``model.init``), applied to every net of a run
after the method has built them (``Trainer``), so every row of a table starts alike.

``default`` leaves PyTorch's own (Kaiming-uniform weights and uniform biases for linear and
conv layers; batch norm at scale 1, shift 0).
``dcgan`` is DCGAN's (Radford et al. 2016, Sec. 4: "All weights were initialized from a
zero-centered Normal distribution with standard deviation 0.02"): linear and conv weights
N(0, 0.02^2), batch-norm scales N(1, 0.02^2) and every bias and shift 0, as their code
(``dcgan_code``: ``Normal(scale=0.02)``, gains ``Normal(loc=1, scale=0.02)``, biases
``Constant(0)``) and PyTorch's DCGAN example do.
``xavier`` is Glorot and Bengio's normalised initialisation (their Eq. 16), uniform on
[-a, a] with a = sqrt(6 / (fan_in + fan_out)), and zero biases (002 Sec. 4.1: "The weights
of each model were initialized using the Xavier method [40]", [40] = Glorot and Bengio
2010; 002 does not say uniform or normal, the cited paper's is uniform). Normalisation
layers keep their (1, 0) scale and shift.
Parameters outside linear, conv and batch-norm layers (minibatch discrimination's tensor,
its own N(0, 0.05^2)) keep the initialisation of their module.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

from torch import nn

from aegan.nets.source_bn import SourceBatchNorm

Init = Literal["default", "dcgan", "xavier"]
WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
DCGAN_STD = 0.02


def initialise(net: nn.Module, init: str) -> nn.Module:
    """Re-initialise the linear, conv and batch-norm layers of ``net`` in place by ``init``; returns ``net``."""
    if init == "default":
        return net
    if init not in ("dcgan", "xavier"):
        raise ValueError(f"unknown initialisation {init!r}; accepted: default, dcgan, xavier")
    batch_norms = (nn.modules.batchnorm._BatchNorm, SourceBatchNorm)
    for module in net.modules():
        if isinstance(module, WEIGHTED):
            if init == "dcgan":
                nn.init.normal_(module.weight, 0.0, DCGAN_STD)
            else:
                nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif init == "dcgan" and isinstance(module, batch_norms) and module.weight is not None:
            nn.init.normal_(module.weight, 1.0, DCGAN_STD)
            nn.init.zeros_(module.bias)
    return net


def initialise_nets(nets: Mapping[str, nn.Module], init: str) -> dict[str, nn.Module]:
    """Every net of ``nets`` initialised by ``init``, in the mapping's order."""
    return {name: initialise(net, init) for name, net in nets.items()}


def run_init(model: Any, method: Any) -> str:
    """The initialisation of a run's nets: ``model.init``, unless the method's parameters
    name one of their own (VLGAN's ``init`` other than "model": a labelled variant)."""
    own = getattr(method, "init", "model")
    return getattr(model, "init", "default") if own == "model" else own
