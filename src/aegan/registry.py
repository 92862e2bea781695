"""A tiny name -> entry registry with errors that list the accepted names."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownName(KeyError):
    """Raised for a name that is not registered; the message lists the accepted names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DuplicateName(ValueError):
    """Raised for a name registered twice; the message names the module that holds it."""

    def __init__(self, kind: str, name: str, owner: str, again: str):
        super().__init__(f"{kind} {name!r} is already registered by {owner}; {again} registers it again "
                         "(give it another name)")
        self.kind, self.name, self.owner = kind, name, owner


# the modules of the registration functions: ``Registry.add`` looks past their functions'
# frames for the module that registers (the owner a duplicate-name error names)
_REGISTRARS = {__name__, "aegan.methods.base", "aegan.data.base", "aegan.metrics.base", "aegan.nets.factory"}


def _registering_module() -> str:
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in _REGISTRARS and frame.f_code.co_name != "<module>":
        frame = frame.f_back
    return frame.f_globals.get("__name__", "?") if frame is not None else "?"


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._owners: dict[str, str] = {}  # name -> the module that registered it

    def add(self, name: str, entry: T) -> T:
        owner = _registering_module()
        if name in self._entries:
            raise DuplicateName(self.kind, name, self._owners[name], owner)
        self._entries[name] = entry
        self._owners[name] = owner
        return entry

    def owner(self, name: str) -> str:
        """The module that registered ``name`` (``aegan.methods.gan``, a plugin's module, ``__main__``)."""
        return self._owners[name]

    def remove(self, name: str) -> None:
        """Take ``name`` out (a plugin that failed half-way is rolled back)."""
        self._entries.pop(name, None)
        self._owners.pop(name, None)

    def __getitem__(self, name: str) -> T:
        if name not in self._entries:
            raise UnknownName(f"unknown {self.kind} {name!r}; accepted: {', '.join(sorted(self._entries))}")
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())


def import_submodules(package: str) -> None:
    """Import every module of ``package`` so that their ``register`` calls run."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
