"""Shared fixtures: tiny configs that train in well under a second on the CPU."""

from __future__ import annotations

import pytest
import torch

from aegan.config import apply_overrides, build_config

TINY = {
    "method": {"name": "nsgan"},
    "data": {"name": "ring8"},
    "model": {"family": "mlp", "latent_dim": 2, "hidden": 16, "depth": 2},
    "train": {"steps": 6, "batch_size": 32, "lr": 1e-3, "seed": 0, "device": "cpu", "log_every": 2,
              "checkpoint_every": 3, "snapshots": 2, "tensorboard": False},
    "eval": {"metrics": ["mixture"], "n_samples": 200},
}


def tiny_raw(**overrides):
    """TINY with dotted overrides, e.g. tiny_raw(**{"method.name": "gan"})."""
    return apply_overrides(TINY, overrides)


def tiny_config(**overrides):
    return build_config(tiny_raw(**overrides))


def fit_interrupted_at(trainer, call: int) -> None:
    """Fit ``trainer`` with a KeyboardInterrupt at its ``call``-th training step (a kill)."""
    calls, original = 0, trainer.train_step

    def crashing():
        nonlocal calls
        calls += 1
        if calls == call:
            raise KeyboardInterrupt
        return original()

    trainer.train_step = crashing
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(progress=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test of tens of seconds, in the default suite "
                                       "(-m 'not slow' leaves it out)")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _private_aegan_cache(tmp_path_factory):
    """FID reference statistics (and any other aegan cache) go to a temporary directory, not ~/.cache."""
    import os

    saved = os.environ.get("AEGAN_CACHE")
    os.environ["AEGAN_CACHE"] = str(tmp_path_factory.mktemp("aegan_cache"))
    yield
    if saved is None:
        os.environ.pop("AEGAN_CACHE", None)
    else:
        os.environ["AEGAN_CACHE"] = saved


@pytest.fixture()
def isolated_plugins():
    """Plugins loaded in the test process (aegan.load_plugins, --plugin through cli.main) are
    unloaded afterwards: their registry entries, the loader's memory and their modules, so
    that no other test sees a plugin's method among the built-in ones."""
    import sys

    from aegan import plugins

    registries = plugins._registries()
    saved = [(r, dict(r._entries), dict(r._owners)) for r in registries]
    done, modules, imported = dict(plugins._done), dict(plugins._modules), set(sys.modules)
    yield plugins
    for registry, entries, owners in saved:
        registry._entries.clear()
        registry._entries.update(entries)
        registry._owners.clear()
        registry._owners.update(owners)
    plugins._done.clear()
    plugins._done.update(done)
    plugins._modules.clear()
    plugins._modules.update(modules)
    for name in set(sys.modules) - imported:
        if name.startswith("aegan_plugin_") or name.startswith("fake_plugin"):
            del sys.modules[name]
