"""aegan: GANs stabilised by autoencoding, and the protocols that measure what that fixes.

The Python API (``aegan.api``; the names of ``__all__``, imported on first use so that
``import aegan`` stays fast)::

    run = aegan.train("configs/toy/ring8.yaml", overrides={"train.steps": 200})
    x = run.sample(1000, seed=0)
    aegan.evaluate(x, "ring8", ["mixture"])
    aegan.compare("configs/toy/ring8.yaml", ["nsgan", "gan_ae"], seeds=2).table

``aegan.train`` and ``aegan.compare`` are also the modules of the training loop and of the
comparison; called, they are the API's functions (``aegan.api.callable_module``, set by ``_Package``).
"""

from __future__ import annotations

import sys
import types

from aegan.version import __version__  # noqa: F401

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (type checkers read it so)

__all__ = ["Comparison", "ConfigError", "DivergenceError", "PluginError", "Run", "compare", "evaluate", "load",
           "load_plugins", "train"]

_HOMES = {"Comparison": "aegan.api", "Run": "aegan.api", "evaluate": "aegan.api", "load": "aegan.api",
          "ConfigError": "aegan.errors", "DivergenceError": "aegan.runlog",
          "PluginError": "aegan.plugins", "load_plugins": "aegan.plugins"}

if TYPE_CHECKING:
    from aegan.api import Comparison, Run, compare, evaluate, load, train
    from aegan.errors import ConfigError
    from aegan.plugins import PluginError, load_plugins
    from aegan.runlog import DivergenceError


def __getattr__(name: str) -> Any:
    import importlib

    if name in ("train", "compare"):  # the module, callable as the API's function of its name
        return importlib.import_module(f"aegan.{name}")
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'aegan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package ``aegan``, whose submodules ``train`` and ``compare`` are made callable as
    the API's functions of their names (``aegan.api.callable_module``) when the import system
    sets them as its attributes: here, at the package's root, above the layers (pyproject's
    import-linter contracts), so that the loop and the comparison do not import the API built on them."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("train", "compare") and isinstance(value, types.ModuleType):
            from aegan.api import callable_module

            callable_module(value.__name__)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
