"""Plugins: a user's own methods, datasets, net families and metrics, in modules of their own.

A plugin is a module that registers entries with the decorators the built-in ones use
(``aegan.methods.register``, ``aegan.data.register_dataset``, ``aegan.nets.register_family``,
``aegan.metrics.register_metric``) when it is imported. It is loaded from three sources,
in this order, each plugin once per process however often it is named:

1. ``--plugin MODULE_OR_PATH`` on any command (repeatable), or ``aegan.load_plugins(...)``;
2. the ``AEGAN_PLUGINS`` environment variable: specs separated by ``os.pathsep``;
3. the ``aegan.plugins`` entry-point group of installed packages (``module`` or
   ``module:function``; a function is called with no arguments once its module is imported).

A spec is a file (``my_method.py``), a package directory, a module name (``mylab.gans``)
or ``module:function``. The built-in entries are registered before any plugin, so a plugin
that registers a taken name is refused as itself; a plugin that fails to import or registers
a taken name is one ``PluginError`` (a ``ConfigError``: exit 2 on the command line) naming
it, and whatever it registered before failing is taken out again.

``aegan compare``'s worker processes load the parent's plugins (``worker_init``, given
``worker_specs()``), so a plugin method trains there as anywhere.

Only the standard library and ``aegan.config`` (no torch) at import time: ``worker_init``
is a spawned worker's initialiser and must reach ``die_with_parent`` at once.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Iterable

from aegan.config import ConfigError

ENV = "AEGAN_PLUGINS"
GROUP = "aegan.plugins"
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_FUNCTION = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


class PluginError(ConfigError):
    """A plugin that cannot be loaded: not found, failed to import, or registers a taken name."""


_done: dict[str, str] = {}  # what was loaded (a resolved file or a module[:function]) -> its spec for workers
_modules: dict[str, str] = {}  # module a plugin loaded -> that plugin's spec (its entries need no replay)


def loaded() -> list[str]:
    """The plugins loaded in this process, in order, as specs ``load_plugins`` takes."""
    return list(dict.fromkeys(_done.values()))


def load_plugins(specs: str | os.PathLike | Iterable[str | os.PathLike] = (), *, env: bool = True,
                 entry_points: bool = True) -> list[str]:
    """Load ``specs`` (``--plugin``: files, package directories, modules), then ``AEGAN_PLUGINS``'s
    (with ``env``), then the ``aegan.plugins`` entry points (with ``entry_points``); each once.
    Returns ``loaded()``; raises ``PluginError`` naming a plugin that cannot be loaded."""
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    jobs: list[tuple[str, str]] = [(os.fspath(spec), "") for spec in specs]
    if env:
        jobs += [(spec, f" (from {ENV})") for spec in os.environ.get(ENV, "").split(os.pathsep) if spec.strip()]
    if entry_points:
        jobs += [(ep.value, f" (entry point {ep.name!r} of group {GROUP})") for ep in _entry_points()]
    for spec, where in jobs:
        load_plugin(spec.strip(), where)
    return loaded()


def _entry_points() -> list:
    from importlib.metadata import entry_points

    found = {}
    for ep in entry_points(group=GROUP):
        found.setdefault((ep.name, ep.value), ep)
    return list(found.values())


def load_plugin(spec: str, where: str = "") -> None:
    """Load one plugin (a file, a package directory, a module or ``module:function``), once."""
    if not spec:
        raise PluginError(f"plugin {spec!r}{where}: empty; give a module name or a path")
    label = f"plugin {spec}{where}"
    function = _FUNCTION.fullmatch(spec)
    as_module = (function or _MODULE.fullmatch(spec)) and not spec.endswith(".py")
    path = None if as_module else Path(spec)  # a file, a package directory: anything not a module name
    if path is not None:
        path = path.expanduser().resolve()
        if not path.exists():
            raise PluginError(f"{label}: no such file or directory")
        if path.is_dir() and not (path / "__init__.py").is_file():
            raise PluginError(f"{label}: a directory without __init__.py; give a .py file or a package")
        key = str(path)
        if key in _done or _imported_from(path):
            _done.setdefault(key, key)
            return
    else:
        key = spec
        module_name = function.group(1) if function else spec
        if key in _done:
            return
        if module_name in sys.modules and not function:  # imported already (by the user, or as a dependency)
            _done[key] = spec
            _modules.setdefault(module_name, spec)
            return
    registries = _registries()
    before = {id(r): set(r) for r in registries}
    try:
        module = _import_path(path) if path is not None else _import_module(spec, function, label)
    except PluginError:
        _roll_back(registries, before)
        raise
    except BaseException as err:  # noqa: BLE001 - any failure of the user's module is one error naming it
        _roll_back(registries, before)
        if isinstance(err, KeyboardInterrupt):
            raise
        raise PluginError(f"{label}: {_failure(err, path)}") from None
    _done[key] = key if path is not None else spec
    _modules[module.__name__] = spec


def _registries() -> list:
    """The four registries, built-in entries registered (imported before any plugin)."""
    from aegan.data import DATASETS
    from aegan.methods import METHODS
    from aegan.metrics import METRICS
    from aegan.nets import FAMILIES

    return [METHODS, DATASETS, FAMILIES, METRICS]


def _roll_back(registries: list, before: dict[int, set[str]]) -> None:
    for registry in registries:
        for name in set(registry) - before[id(registry)]:
            registry.remove(name)


def _imported_from(path: Path) -> bool:
    """Whether a module of this process was loaded from ``path`` (a plugin the user imported)."""
    target = path / "__init__.py" if path.is_dir() else path
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and file.endswith(target.name):
            try:
                if Path(file).resolve() == target:
                    _modules.setdefault(module.__name__, str(path))
                    return True
            except OSError:
                continue
    return False


def _module_name(path: Path) -> str:
    """A name for a module loaded from a file: aegan_plugin_<stem>, made unique by the path's hash."""
    stem = re.sub(r"\W", "_", path.stem if path.is_file() else path.name)
    name = f"aegan_plugin_{stem}"
    if name in sys.modules:
        name += "_" + hashlib.sha1(str(path).encode()).hexdigest()[:8]
    return name


def _import_path(path: Path):
    name = _module_name(path)
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(name, path / "__init__.py", submodule_search_locations=[str(path)])
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin {path}: not a Python file (name it *.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pickling (worker processes) finds its classes by this name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_module(spec: str, function: re.Match | None, label: str):
    name = function.group(1) if function else spec
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and (name == err.name or name.startswith(err.name + ".")):
            raise PluginError(f"{label}: no module named {err.name!r} (and no file {spec!r}); give an importable "
                              "module, a .py file or a package directory") from None
        raise
    if function:
        target = module
        for part in function.group(2).split("."):
            if not hasattr(target, part):
                raise PluginError(f"{label}: module {name!r} has no {function.group(2)!r}")
            target = getattr(target, part)
        if callable(target):
            target()
    return module


def _failure(err: BaseException, path: Path | None) -> str:
    """"failed to import: ModuleNotFoundError: No module named 'x' (at my_method.py:3)", or the
    registry's message for a taken name."""
    from aegan.registry import DuplicateName

    if isinstance(err, DuplicateName):
        owner = f"plugin {_modules[err.owner]}" if err.owner in _modules else err.owner
        return f"registers {err.kind} {err.name!r}, a name that {owner} registered already; give it another name"
    where = ""
    if isinstance(err, SyntaxError) and err.filename:
        return f"failed to import: SyntaxError: {err.msg} (at {err.filename}:{err.lineno})"
    else:
        frames = traceback.extract_tb(err.__traceback__)
        own = [f for f in frames if path is not None and Path(f.filename).resolve() == (
            path / "__init__.py" if path.is_dir() else path)] or [f for f in frames if "importlib" not in f.filename]
        if own:
            where = f" (at {own[-1].filename}:{own[-1].lineno})"
    message = (str(err).strip().splitlines() or [""])[0]
    return f"failed to import: {type(err).__name__}: {message}{where}"


def worker_specs() -> list[str]:
    """What a worker process loads to see every entry this process registered: the loaded
    plugins, and the modules outside aegan that registered entries themselves (a user's
    script imported ``mylab.gans``). An entry defined in an interactive session's
    ``__main__`` (a notebook) cannot reach a worker: a ``PluginError`` says where to put it."""
    specs = loaded()
    covered = set(_modules)
    for registry in _registries():
        for name in registry:
            owner = registry.owner(name)
            if owner == "aegan" or owner.startswith("aegan.") or owner in covered:
                continue
            if owner in ("__main__", "__mp_main__"):
                if getattr(sys.modules.get("__main__"), "__file__", None):
                    continue  # a script: a spawned worker runs it again as __mp_main__
                raise PluginError(f"{registry.kind} {name!r} is defined in this interactive session (__main__), which "
                                  "worker processes cannot import: put it in a module or file and load it with "
                                  "aegan.load_plugins(...), or compare with workers=1")
            specs.append(owner)
            covered.add(owner)
    return specs


def worker_init(parent_pid: int, specs: list[str]) -> None:
    """A compare worker's initialiser: arm the parent-death signal first (``aegan.orphans``),
    then load the parent's plugins (``worker_specs``) so that their names resolve here."""
    from aegan.orphans import die_with_parent

    die_with_parent(parent_pid)
    if specs:
        load_plugins(specs, env=False, entry_points=False)
