"""The invalid configs of the fault battery's config-fuzzing row (``benchmarks/faults.py``).

Cases are built systematically from a tiny valid config: every key of every section gets
each of a set of generic bad values (a boolean, inf, -inf, nan, negative, zero, a
fraction, huge numbers, a list, a mapping, a string, null) plus key-specific ones; then
whole-section faults, unknown keys, cross-key rules, missing datasets, command-line
overrides and YAML-level faults. ``RULES`` restates the documented rules of each key (the
``Field`` bounds and validators of ``aegan.config``, the dataset, model and metric
configs); a generated value that those rules accept is set aside as valid, not run.

Each case runs as ``aegan train CONFIG --run-dir DIR --no-progress`` through
``aegan.cli.main`` in this process (a subprocess only for the few that could hang or
exhaust memory, run meanwhile) and is classified: "clean" (exit 2, one line on stderr with the error's
prefix, naming the offending key or file), "traceback", "accepted silently" (exit 0),
"wrong exit code", "not one line", "key not named", or "hang".
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import math
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

# the tiny config, cut to 2 steps so that a config accepted by mistake finishes in a second
BASE: dict[str, Any] = {
    "method": {"name": "nsgan"},
    "data": {"name": "ring8"},
    "model": {"family": "mlp", "latent_dim": 2, "hidden": 16, "depth": 2},
    "train": {"steps": 2, "batch_size": 32, "lr": 1e-3, "seed": 0, "device": "cpu", "log_every": 1,
              "checkpoint_every": 1, "snapshots": 1, "tensorboard": False, "threads": 1},
    "eval": {"metrics": ["mixture"], "n_samples": 50},
}
SECTIONS = ("method", "data", "model", "train", "eval")
PREFIXES = ("aegan: config error: ", "aegan: data error: ", "aegan: checkpoint error: ")
CASE_TIMEOUT_S = 60
GENERIC = (("a boolean", True), ("inf", math.inf), ("-inf", -math.inf), ("nan", math.nan), ("negative", -1),
           ("zero", 0), ("a fraction", 0.5), ("1e9", 10**9), ("1e12", 10**12), ("2**70", 2**70),
           ("a list", [1, 2]), ("a mapping", {"a": 1}), ("a string", "abc"), ("null", None))


@dataclass(frozen=True)
class Case:
    """One invalid invocation. ``text``: the config file's bytes (``@DIR@`` is replaced by the
    case's directory); ``path_kind``: "file", "missing" (no such path) or "dir" (a directory);
    ``keys``: what the message must name (any of them; a path for file-level faults)."""

    label: str
    keys: tuple[str, ...]
    text: bytes = b""
    argv: tuple[str, ...] = ()
    path_kind: str = "file"
    isolate: bool = False  # run in a subprocess: could hang or exhaust memory in-process


# -- the documented rules of each key ---------------------------------------------------------------------------------
def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    return _number(v) and math.isfinite(v)


def integer(gt: int | None = None, ge: int | None = None, le: int | None = None, nullable: bool = False) -> Callable:
    """An int field (an integral float is accepted as pydantic's lax mode does)."""
    def ok(v: Any) -> bool:
        if v is None:
            return nullable
        if not _finite(v) or (isinstance(v, float) and not v.is_integer()):
            return False
        return (gt is None or v > gt) and (ge is None or v >= ge) and (le is None or v <= le)
    return ok


def real(gt: float | None = None, ge: float | None = None, lt: float | None = None) -> Callable:
    return lambda v: _finite(v) and (gt is None or v > gt) and (ge is None or v >= ge) and (lt is None or v < lt)


def one_of(*choices: str) -> Callable:
    return lambda v: isinstance(v, str) and v in choices


def boolean(v: Any) -> bool:
    """pydantic's lax bool: true/false and the numbers 0 and 1."""
    return isinstance(v, bool) or (_finite(v) and v in (0, 1))


def names(allowed: list[str]) -> Callable:
    return lambda v: isinstance(v, list) and all(isinstance(x, str) and x in allowed for x in v)


def weights(v: Any) -> bool:
    return v is None or (isinstance(v, list) and len(v) == 8 and all(_finite(x) and x > 0 for x in v))


def betas(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_finite(x) and 0 <= x < 1 for x in v)


def device(v: Any) -> bool:
    """The documented forms, and only devices this machine has (else training cannot start)."""
    if not isinstance(v, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v):
        return False
    if v.startswith("cuda"):
        index = int(v.partition(":")[2] or 0)
        return torch.cuda.is_available() and index < torch.cuda.device_count()
    return v != "mps" or torch.backends.mps.is_available()


def existing_path(v: Any) -> bool:
    return v is None or (isinstance(v, str) and Path(v).exists())


OPTIMIZERS = ("adam", "rmsprop", "sgd")


def net_optimizers(v: Any) -> bool:
    return isinstance(v, dict) and all(k in ("generator", "discriminator") and o in OPTIMIZERS for k, o in v.items())


def eval_params(v: Any) -> bool:
    from aegan.metrics import METRICS

    return isinstance(v, dict) and all(k in METRICS and v2 == {} for k, v2 in v.items())


def _rules() -> dict[str, tuple[Callable, tuple]]:
    """dotted key -> (is this value valid for the base config?, key-specific bad values as (name, value) or
    (name, value, other keys the message may name instead: the other half of a rule between keys))."""
    from aegan.data import DATASETS
    from aegan.methods import METHODS
    from aegan.nets import FAMILIES

    unknown = (("an unknown name", "nope"), ("an empty name", ""))
    positive, width = integer(gt=0), integer(gt=0, le=2**16)
    seed = integer(ge=0, le=2**63 - 1)
    return {
        "method.name": (one_of(*METHODS), unknown),
        "data.name": (one_of(*DATASETS), unknown),
        "data.modes": (integer(gt=0, le=100_000), ()),
        "data.layout": (one_of("ring"), (("grid with 8 modes (not a square)", "grid", ("data.modes",)),
                                         ("an unknown layout", "hex"))),
        "data.radius": (real(gt=0), ()),
        "data.spacing": (real(gt=0), ()),
        "data.std": (real(gt=0), ()),
        "data.weights": (weights, (("7 weights", [1] * 7), ("a negative weight", [1] * 7 + [-1]),
                                   ("a zero weight", [0] + [1] * 7), ("a nan weight", [math.nan] + [1] * 7),
                                   ("an inf weight", [math.inf] + [1] * 7), ("a string weight", ["a"] * 8))),
        "model.family": (one_of(*FAMILIES), unknown),
        "model.latent_dim": (width, (("2**16+1", 2**16 + 1),)),
        "model.hidden": (width, (("2**16+1", 2**16 + 1),)),
        "model.depth": (integer(gt=0, le=64), (("65", 65),)),
        "model.g_hidden": (integer(gt=0, le=2**16, nullable=True), (("2**16+1", 2**16 + 1),)),
        "model.d_hidden": (integer(gt=0, le=2**16, nullable=True), (("2**16+1", 2**16 + 1),)),
        "model.g_depth": (integer(gt=0, le=64, nullable=True), (("65", 65),)),
        "model.d_depth": (integer(gt=0, le=64, nullable=True), (("65", 65),)),
        "model.d_dropout": (real(ge=0, lt=1), (("1.0", 1.0),)),
        "train.steps": (integer(gt=0, le=10**9), (("1e9+1", 10**9 + 1),)),
        "train.batch_size": (integer(gt=0, le=2**20), (("2**20+1", 2**20 + 1),)),
        "train.optimizer": (one_of(*OPTIMIZERS), (("an unknown optimizer", "lbfgs"),)),
        "train.net_optimizers": (net_optimizers, (("a net the method lacks", {"encoder": "adam"}),
                                                  ("an unknown optimizer", {"generator": "lbfgs"}),
                                                  ("a number for an optimizer", {"generator": 5}))),
        "train.lr": (real(gt=0), ()),
        "train.betas": (betas, (("one beta", [0.5]), ("three betas", [0.5, 0.9, 0.9]), ("beta 1.0", [0.5, 1.0]),
                                ("a negative beta", [-0.1, 0.9]), ("a nan beta", [math.nan, 0.9]),
                                ("an inf beta", [0.5, math.inf]))),
        "train.lr_decay": (one_of("none", "linear"), (("an unknown schedule", "cosine"),)),
        "train.lr_decay_start": (real(ge=0, lt=1), (("1.0", 1.0),)),
        "train.seed": (seed, (("2**63", 2**63),)),
        "train.device": (device, (("cuda", "cuda"), ("cuda:99", "cuda:99"), ("mps", "mps"), ("CPU", "CPU"),
                                  ("cpu:0", "cpu:0"))),
        "train.threads": (integer(gt=0, le=1024, nullable=True), (("1025", 1025),)),
        "train.log_every": (positive, ()),
        "train.checkpoint_every": (positive, ()),
        "train.snapshots": (integer(gt=0, le=1000), (("1001", 1001),)),
        "train.tensorboard": (boolean, (("2", 2),)),
        "train.amp": (boolean, (("2", 2),)),
        "train.compile": (lambda v: boolean(v) or v in ("default", "graph"),
                          (("2", 2), ("an unknown mode", "max-autotune"), ("a quoted true", "true"))),
        "train.grad_per_term": (boolean, (("2", 2),)),
        # instance_noise_steps is 0 in the base config, so only 0 is valid
        "train.instance_noise": (lambda v: _finite(v) and v == 0, (("0.1 without instance_noise_steps", 0.1),)),
        "train.instance_noise_steps": (integer(ge=0), ()),
        "train.init_from": (existing_path, (("a missing file", "/nonexistent/last.pt"),)),
        "train.init_nets": (lambda v: v is None, (("without init_from", ["generator"]),)),  # needs init_from
        "train.freeze": (names(list(METHODS["nsgan"].nets)), (("an unknown net", ["encoder"]),
                                                               ("a name, not a list", "generator"))),
        "eval.metrics": (names(["mixture", "third_party", "third_party_fast"]),
                         (("fid on ring8", ["fid"]), ("mnist_modes on ring8", ["mnist_modes"]),
                          ("an unknown metric", ["nope"]), ("a name, not a list", "mixture"))),
        "eval.n_samples": (integer(gt=0, le=10**7), (("1e7+1", 10**7 + 1),)),
        "eval.seed": (seed, (("2**63", 2**63),)),
        "eval.params": (eval_params, (("a negative k_std", {"mixture": {"k_std": -1}}),
                                      ("strict_fraction 2", {"mixture": {"strict_fraction": 2}}),
                                      ("an unknown parameter", {"mixture": {"nope": 1}}),
                                      ("parameters not a mapping", {"mixture": 5}),
                                      ("an unknown metric", {"nope": {}}))),
    }


def uncovered_keys() -> list[str]:
    """Keys of the base config's sections that ``RULES`` does not fuzz (new keys show up here)."""
    from aegan.config import EvalConfig, TrainConfig
    from aegan.data import DATASETS
    from aegan.methods import METHODS
    from aegan.nets import FAMILIES

    models = {"method": METHODS["nsgan"].Config, "data": DATASETS["ring8"], "model": FAMILIES["mlp"],
              "train": TrainConfig, "eval": EvalConfig}
    rules = _rules()
    keys = []
    for section, model in models.items():
        model = model if hasattr(model, "model_fields") else (model.Config if isinstance(model, type) else model[0])
        keys += [f"{section}.{k}" for k in model.model_fields if f"{section}.{k}" not in rules]
    return keys


# -- building the cases -----------------------------------------------------------------------------------------------
def _set(raw: dict, dotted: str, value: Any) -> dict:
    raw = copy.deepcopy(raw)
    section, _, key = dotted.partition(".")
    if key:
        raw.setdefault(section, {})[key] = value
    else:
        raw[section] = value
    return raw


def _dump(raw: Any) -> bytes:
    return yaml.safe_dump(raw, sort_keys=False).encode()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def field_cases() -> tuple[list[Case], list[str]]:
    """Every key x (generic + key-specific bad values); returns (invalid cases, labels set aside as valid)."""
    cases, valid = [], []
    for key, (ok, specific) in _rules().items():
        for name, value, *others in (*GENERIC, *specific):
            label = f"{key}: {name} ({_short(value)})"
            if ok(value):
                valid.append(label)
            else:
                cases.append(Case(label, (key, *(others[0] if others else ())), _dump(_set(BASE, key, value))))
    return cases, valid


def section_cases() -> tuple[list[Case], list[str]]:
    """Whole sections as scalars, null or missing; unknown keys and sections; the ``methods`` section."""
    cases, valid = [], []
    for section in SECTIONS:
        for name, value in (("a number", 5), ("a string", "nsgan"), ("a list", [1, 2]), ("a boolean", True)):
            cases.append(Case(f"{section}: {name}", (section,), _dump(_set(BASE, section, value))))
        needs_name = section in ("method", "data")  # the others have defaults for every key
        null, missing = _set(BASE, section, None), {k: v for k, v in BASE.items() if k != section}
        for label, raw in ((f"{section}: null", null), (f"{section}: section missing", missing)):
            if needs_name:
                cases.append(Case(label, (f"{section}.name", section), _dump(raw)))
            else:
                valid.append(label)
        cases.append(Case(f"{section}.foo: unknown key", (f"{section}.foo",), _dump(_set(BASE, f"{section}.foo", 1))))
    cases += [
        Case("foo: unknown section", ("foo",), _dump(_set(BASE, "foo", {"a": 1}))),
        Case("data.root on ring8: unknown key", ("data.root",), _dump(_set(BASE, "data.root", "/tmp"))),
        Case("methods: a number", ("methods",), _dump(_set(BASE, "methods", 5))),
        Case("methods.nsgan: a number", ("methods.nsgan",), _dump(_set(BASE, "methods", {"nsgan": 5}))),
        Case("methods.nsgan.foo: unknown key", ("method.foo", "methods.nsgan.foo"),
             _dump(_set(BASE, "methods", {"nsgan": {"foo": 1}}))),
    ]
    return cases, valid


def _with(**dotted: Any) -> bytes:
    raw = BASE
    for key, value in dotted.items():
        raw = _set(raw, key.replace("__", "."), value)
    return _dump(raw)


def cross_cases() -> list[Case]:
    """Rules between keys, and datasets whose files are missing (data errors)."""
    images = {"eval__metrics": [], "data__name": "mnist"}
    return [
        Case("train.freeze [discriminator] on gmmn (no such net)", ("train.freeze",),
             _with(method__name="gmmn", train__freeze=["discriminator"])),
        Case("train.instance_noise on gmmn (no data discriminator)", ("train.instance_noise",),
             _with(method__name="gmmn", train__instance_noise=0.1, train__instance_noise_steps=10)),
        Case("data.weights: 8 weights for 25 modes", ("data.weights",), _with(data__modes=25, data__weights=[1] * 8)),
        Case("train.init_nets [encoder] (not a net of nsgan) from a missing file", ("train.init_nets", "train.init_from"),
             _with(train__init_from="/nonexistent/last.pt", train__init_nets=["encoder"])),
        *[Case(f"data.name {name} with data.root /nonexistent", ("/nonexistent",),
               _with(**{**images, "data__name": name, "data__root": "/nonexistent"}))
          for name in ("mnist", "fashion_mnist", "stacked_mnist", "compositional_mnist")],
        Case("data.download true without data.root (mnist)", ("data.download", "data.root"),
             _with(**images, data__download=True)),
        Case("data.root is a file (mnist)", ("@DIR@/config.yaml",), _with(**images, data__root="@DIR@/config.yaml")),
    ]


def override_cases() -> list[Case]:
    """Bad ``--section.key=value`` overrides on a valid config file."""
    good = _dump(BASE)
    items = (("--train.steps=abc", "train.steps"), ("--train.steps=-1", "train.steps"), ("--train.lr=nan", "train.lr"),
             ("--train.steps", "train.steps"), ("--nosuch.key=1", "nosuch"), ("--train=5", "train"),
             ("--train.steps.x=1", "train.steps"), ("-x", "-x"), ("--model.hidden=[1", "model.hidden"),
             ("--eval.metrics=fid", "eval.metrics"), ("--data.name=", "data.name"),
             ("--train.freeze=[critic]", "train.freeze"))
    return [Case(f"override {arg}", (key,), good, (arg,)) for arg, key in items]


def yaml_cases() -> list[Case]:
    """Faults of the file itself; the message must name the file."""
    good = _dump(BASE)
    laughs = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode() for i in range(9))
    deep = b"train: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    tabbed = good.replace(b"  ", b"\t")
    dup_key = good.replace(b"  steps: 2\n", b"  steps: 2\n  steps: 3\n")
    evil = b"method: !!python/object/apply:os.system ['touch @DIR@/MARKER']\n" + good
    path = ("@DIR@/config.yaml",)
    return [
        Case("duplicate section", path, good + b"train: {steps: 3}\n"),
        Case("duplicate key", path, dup_key),
        Case("billion laughs (alias bomb)", path, laughs + good, isolate=True),
        Case("one YAML alias", path, good + b"methods: {a: &x {lr: 1}, b: *x}\n"),
        Case("non-UTF-8 byte in a comment", path, b"# caf\xe9\n" + good),
        Case("UTF-16 file", path, good.decode().encode("utf-16")),
        Case("5000-deep nesting", path, deep, isolate=True),
        Case("tab-indented file", path, tabbed),
        Case("empty file", path, b""),
        Case("comments only", path, b"# nothing here\n"),
        Case("top-level list", path, b"- method\n- data\n"),
        Case("top-level scalar", path, b"5\n"),
        Case("python object tag (must not run)", path, evil),
        Case("random bytes", path, bytes(range(256)) * 4),
        Case("NUL byte", path, good + b"\x00\n"),
        Case("unclosed bracket", path, b"train: {steps: 2\n"),
        Case("no such file", path, path_kind="missing"),
        Case("a directory", path, path_kind="dir"),
    ]


def all_cases() -> tuple[list[Case], list[str]]:
    fields, valid_fields = field_cases()
    sections, valid_sections = section_cases()
    return [*fields, *sections, *cross_cases(), *override_cases(), *yaml_cases()], [*valid_fields, *valid_sections]


# -- running and classifying ------------------------------------------------------------------------------------------
@dataclass
class Result:
    case: Case
    outcome: str
    detail: str


class CaseTimeout(BaseException):
    """Raised by the alarm inside an in-process case (not an Exception, so main cannot catch it)."""


def _on_alarm(signum, frame):
    raise CaseTimeout(f"no answer after {CASE_TIMEOUT_S} s")


def run_in_process(argv: list[str]) -> tuple[int | None, str, str | None]:
    """(exit code, stderr, escaped exception) of ``aegan.cli.main(argv)`` in this process."""
    from aegan.cli import main

    err, out = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(argv)
        return rc, err.getvalue(), None
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1, err.getvalue(), None
    except CaseTimeout as exc:
        return None, err.getvalue(), f"hang: {exc}"
    except Exception as exc:  # noqa: BLE001 - any exception escaping main is a traceback
        return None, err.getvalue(), f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def start_isolated(argv: list[str], cwd: Path) -> tuple[subprocess.Popen, float]:
    """The same in a subprocess (``python -m aegan.cli``); collect it with ``collect_isolated``."""
    proc = subprocess.Popen([sys.executable, "-m", "aegan.cli", *argv], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    return proc, time.monotonic()


def collect_isolated(proc: subprocess.Popen, started: float) -> tuple[int | None, str, str | None]:
    """(exit code, stderr, traceback or hang) of a subprocess case, killed ``CASE_TIMEOUT_S`` after its start."""
    try:
        _, stderr = proc.communicate(timeout=max(0.0, started + CASE_TIMEOUT_S - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, "", f"hang: no answer after {CASE_TIMEOUT_S} s"
    if "Traceback (most recent call last)" in stderr:
        return None, stderr, stderr.strip().splitlines()[-1]
    return proc.returncode, stderr, None


def named(keys: tuple[str, ...], body: str) -> bool:
    """Whether the message names one of ``keys``: the dotted key as a word, or "section: key" (a
    rule between keys of one section); a key with "/" is a path and is looked up as it is."""
    for key in keys:
        if "/" in key:
            if key in body:
                return True
            continue
        section, _, leaf = key.partition(".")
        if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", body) or (leaf and f"{section}: {leaf}" in body):
            return True
    return False


def classify(case: Case, rc: int | None, stderr: str, exc: str | None) -> tuple[str, str]:
    """(outcome, detail) of one case."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if exc is not None:
        return ("hang" if exc.startswith("hang") else "traceback"), exc
    if rc == 0:
        return "accepted silently", "exit 0"
    if rc != 2:
        return "wrong exit code", f"exit {rc}: {first[:200]}"
    if len(lines) != 1 or not first.startswith(PREFIXES):
        return "not one line", " | ".join(lines)[:300]
    if not named(case.keys, first):
        return "key not named", first[:300]
    return "clean", first


def prepare(case: Case, workdir: Path) -> tuple[Path, list[str]]:
    """A fresh directory under ``workdir`` holding the case's config; (directory, argv of main)."""
    folder = Path(tempfile.mkdtemp(dir=workdir))
    config = folder / "config.yaml"
    if case.path_kind == "file":
        config.write_bytes(case.text.replace(b"@DIR@", str(folder).encode()))
    elif case.path_kind == "dir":
        config.mkdir()
    return folder, ["train", str(config), "--run-dir", str(folder / "run"), "--no-progress", *case.argv]


def conclude(case: Case, folder: Path, rc: int | None, stderr: str, exc: str | None) -> Result:
    """Classify a finished case and remove its directory."""
    case = dataclasses.replace(case, keys=tuple(k.replace("@DIR@", str(folder)) for k in case.keys))
    outcome, detail = classify(case, rc, stderr, exc)
    if (folder / "MARKER").exists():
        outcome, detail = "ran code from the config", str(folder / "MARKER")
    shutil.rmtree(folder, ignore_errors=True)
    return Result(case, outcome, detail)


def fuzz(workdir: Path) -> tuple[list[Result], list[str]]:
    """Every case's result (the subprocess ones run meanwhile), and the labels set aside as valid."""
    cases, valid = all_cases()
    isolated = {}
    for i, case in enumerate(cases):
        if case.isolate:
            folder, argv = prepare(case, workdir)
            isolated[i] = (folder, start_isolated(argv, folder))
    results: list[Result | None] = [None] * len(cases)
    for i, case in enumerate(cases):
        if not case.isolate:
            folder, argv = prepare(case, workdir)
            results[i] = conclude(case, folder, *run_in_process(argv))
    for i, (folder, started) in isolated.items():
        results[i] = conclude(cases[i], folder, *collect_isolated(*started))
    return results, valid


def summary(results: list[Result]) -> Counter:
    return Counter(r.outcome for r in results)
