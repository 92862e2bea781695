"""Methods: one small file each; ``METHODS`` maps a name to its class."""

from aegan.methods.base import METHODS, Batch, Method, MethodConfig, Phase, log_diagnostics, register
from aegan.registry import import_submodules

import_submodules(__name__)

__all__ = ["METHODS", "Batch", "Method", "MethodConfig", "Phase", "log_diagnostics", "register"]
