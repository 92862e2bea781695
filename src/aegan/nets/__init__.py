"""Network families. A family builds every role a method may ask for on one kind of data.

Methods never construct networks themselves: they call the ``NetFactory`` of the run's
model family (``mlp`` for vectors, image families for images), so that every method runs
on the same networks and comparisons are fair.
"""

from aegan.nets.factory import FAMILIES, ModelConfig, NetFactory, build_factory, register_family
from aegan.registry import import_submodules

import_submodules(__name__)  # image families (conv.py) register themselves

__all__ = ["FAMILIES", "ModelConfig", "NetFactory", "build_factory", "register_family"]
