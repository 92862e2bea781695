"""train.compile: false | true (= default) | graph (issue 13 item 4).

The compiled path must take the step the eager one takes; ``graph`` (CUDA graphs) needs a
CUDA device and is refused elsewhere with an error naming the key. The GPU tests run only
where CUDA is present (benchmarks/gpu_smoke.py measures the speed)."""

from __future__ import annotations

import shutil

import pytest
import torch
import yaml

from aegan.config import ConfigError
from aegan.methods import METHODS
from aegan.train import Trainer
from tests.conftest import TINY, tiny_config

CUDA = torch.cuda.is_available()
SMALL = {"model.hidden": 8, "model.depth": 1, "train.batch_size": 16}


@pytest.mark.parametrize("value, stored", [(False, False), (True, True), ("default", True), ("graph", "graph"),
                                           (0, False), (1, True)])
def test_compile_values_and_how_they_are_stored(value, stored):
    config = tiny_config(**{"train.compile": value})
    assert config.train.compile == stored
    assert config.to_dict()["train"]["compile"] == stored  # "default" is saved as true: the same run as before


@pytest.mark.parametrize("value", ["max-autotune", "true", "reduce-overhead", 2, None, [1]])
def test_other_compile_values_are_a_config_error_naming_the_key(value):
    with pytest.raises(ConfigError, match=r"^train\.compile: must be false, true .* or graph"):
        tiny_config(**{"train.compile": value})


def test_configs_without_compile_or_with_a_boolean_are_unchanged():
    raw = yaml.safe_load(yaml.safe_dump(TINY))
    assert "compile" not in raw["train"]
    assert tiny_config().to_dict()["train"]["compile"] is False
    saved = tiny_config(**{"train.compile": True}).to_dict()
    assert saved["train"]["compile"] is True  # a config saved before the choice existed reads back the same


@pytest.mark.skipif(CUDA, reason="checks the refusal on a machine without CUDA")
def test_graph_on_the_cpu_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^train\.compile: graph captures CUDA graphs and needs a CUDA device"):
        Trainer(tiny_config(**{"train.compile": "graph", "train.device": "cpu"}), tmp_path / "run")


def _params_after(config, run_dir, steps):
    trainer = Trainer(config, run_dir)
    for _ in range(steps):
        trainer.train_step()
    return {f"{net}.{key}": value.detach().float().cpu().clone()
            for net, module in trainer.nets.items() for key, value in module.state_dict().items()}


def _assert_same_step(eager, compiled, rtol, atol):
    assert eager.keys() == compiled.keys()
    for key in eager:
        torch.testing.assert_close(compiled[key], eager[key], rtol=rtol, atol=atol, msg=f"{key} differs")


def test_compiled_step_equals_the_eager_step_through_dynamo_and_aot_autograd(tmp_path, monkeypatch):
    """compile: true's wiring (the phases call torch.compile'd nets, backward through the
    compiled graphs) on a tiny 2D NS-GAN, with torch.compile's aot_eager backend (the graphs
    TorchDynamo captures and AOTAutograd splits into forward and backward, run by eager
    kernels: no C++ code generation, a few seconds): the same parameters after 3 steps."""
    import functools

    import aegan.train

    steps = 3
    eager = _params_after(tiny_config(**SMALL, **{"train.device": "cpu"}), tmp_path / "eager", steps)
    monkeypatch.setattr(aegan.train.torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    compiled = _params_after(tiny_config(**SMALL, **{"train.device": "cpu", "train.compile": True}),
                             tmp_path / "compiled", steps)
    _assert_same_step(eager, compiled, rtol=0, atol=0)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_takes_the_eager_step_when_compiled(tmp_path, monkeypatch, method):
    """Every registered method under compile: true (aot_eager backend, as above), 3 steps:
    exactly the eager parameters. Double backward (gradient penalties, unrolled GAN) goes
    through the eager module behind the wrapper; train.grad_per_term (a second backward
    through the same compiled graph) is checked for the methods with several terms."""
    import functools

    import aegan.train

    common = {**SMALL, "train.device": "cpu", "method.name": method, "train.grad_per_term": True}
    eager = _params_after(tiny_config(**common), tmp_path / "eager", 3)
    monkeypatch.setattr(aegan.train.torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    compiled = _params_after(tiny_config(**common, **{"train.compile": True}), tmp_path / "compiled", 3)
    _assert_same_step(eager, compiled, rtol=0, atol=0)


def test_instance_noise_under_compile_takes_the_eager_step_without_recompiling(tmp_path, monkeypatch):
    """train.instance_noise's hook runs outside the compiled graph: its noise level changes
    every step, which traced would recompile D every step (until dynamo's limit, then eager)."""
    import functools

    import torch._dynamo.utils

    import aegan.train

    common = {**SMALL, "train.device": "cpu", "train.instance_noise": 0.5, "train.instance_noise_steps": 100}
    eager = _params_after(tiny_config(**common), tmp_path / "eager", 8)
    monkeypatch.setattr(aegan.train.torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    torch._dynamo.reset()
    trainer = Trainer(tiny_config(**common, **{"train.compile": True}), tmp_path / "compiled")
    graphs = []
    for _ in range(8):
        trainer.train_step()
        graphs.append(torch._dynamo.utils.counters["stats"]["unique_graphs"])
    assert graphs[2] == graphs[-1], graphs  # no new graph after the first steps
    compiled = {f"{net}.{key}": value.detach().clone() for net, module in trainer.nets.items()
                for key, value in module.state_dict().items()}
    _assert_same_step(eager, compiled, rtol=0, atol=0)


def _inductor_compiler() -> str | None:
    """The C++ compiler torch.compile's CPU backend (inductor) finds, None when it finds none."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        return get_cpp_compiler()
    except (ImportError, AttributeError):  # another torch's layout: look for what inductor runs
        return shutil.which("g++") or shutil.which("c++")
    except RuntimeError:  # torch._inductor.exc.InvalidCxxCompiler: none on this machine
        return None


@pytest.mark.slow
@pytest.mark.skipif(_inductor_compiler() is None,
                    reason="torch.compile on the CPU (inductor) compiles C++ kernels and found no C++ compiler "
                           "(g++ or $CXX) on this machine")
def test_compiled_step_equals_the_eager_step_on_the_cpu(tmp_path):
    """torch.compile with its real backend (the default, inductor: generated C++ kernels) on a
    tiny 2D NS-GAN, G and D compiled: the same parameters after 2 steps as eager, to float32
    rounding (inductor fuses element-wise ops and may reorder a reduction; the matmuls are the
    same). About 20 s of CPU on a cold inductor cache (most of it g++), a few with a warm one;
    marked slow: -m "not slow" leaves it out."""
    import torch._dynamo.utils

    steps = 2
    eager = _params_after(tiny_config(**SMALL, **{"train.device": "cpu"}), tmp_path / "eager", steps)
    torch._dynamo.reset()
    trainer = Trainer(tiny_config(**SMALL, **{"train.device": "cpu", "train.compile": True}), tmp_path / "compiled")
    assert all(isinstance(net, torch._dynamo.eval_frame.OptimizedModule) for net in trainer.forward_nets.values())
    for _ in range(steps):
        trainer.train_step()
    compiled = {f"{net}.{key}": value.detach().float().cpu().clone()
                for net, module in trainer.nets.items() for key, value in module.state_dict().items()}
    counters = torch._dynamo.utils.counters
    assert counters["stats"]["unique_graphs"] > 0 and counters["inductor"]  # captured, and inductor compiled them
    _assert_same_step(eager, compiled, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(compiled[key], value) for key, value in _params_after(
        tiny_config(**SMALL, **{"train.device": "cpu"}), tmp_path / "eager0", 0).items())  # the steps moved the nets


@pytest.mark.skipif(not CUDA, reason="CUDA graphs need a CUDA device (none here)")
@pytest.mark.parametrize("method", ["nsgan", "wgan_gp", "gan_ae", "unrolled"])
def test_graph_step_equals_the_eager_step_on_cuda(tmp_path, method):
    """compile: graph (each net's forward and backward replayed as CUDA graphs) against eager
    on the same GPU, a few steps of a tiny 2D run; TF32 off so that both use fp32 matmuls."""
    torch.backends.cuda.matmul.allow_tf32 = False
    common = {**SMALL, "train.device": "cuda", "method.name": method}
    steps = 5
    eager = _params_after(tiny_config(**common), tmp_path / "eager", steps)
    graph = _params_after(tiny_config(**common, **{"train.compile": "graph"}), tmp_path / "graph", steps)
    _assert_same_step(eager, graph, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device (none here)")
def test_compare_workers_share_one_gpu(tmp_path):
    """aegan compare --workers 2 with train.device: cuda: spawned workers, each on the GPU;
    the comparing process itself never initialises CUDA (checked in a fresh process)."""
    import json
    import subprocess
    import sys

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "out"
    script = ("import sys, torch; from aegan.cli import main; "
              f"rc = main(['compare', {str(config)!r}, '--methods', 'nsgan,gan', '--seeds', '2', '--workers', '2', "
              f"'--out', {str(out)!r}, '--no-progress', '--train.device=cuda']); "
              "assert rc == 0, rc; assert not torch.cuda.is_initialized(), 'the parent initialised CUDA'")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for method in ("nsgan", "gan"):
        for seed in (0, 1):
            record = json.loads((out / "tiny" / method / f"seed{seed}" / "metrics.json").read_text())
            assert record["step"] == TINY["train"]["steps"] and "cuda_max_allocated" in record["peak_memory_mb"]
