"""Inception Score on natural images (Salimans et al. 2016), with a user-supplied network.

IS = exp(E_x KL(p(y|x) || p(y))) over ``splits`` equal parts of the generated samples (mean
and std reported), p(y|x) the softmax of the network's logits (all of them: 1008 for the TF
2015 Inception the score is defined on). That 1008-class head has no offline source: give a
TorchScript file of it as ``eval.params.inception_score.weights`` (input (n, 3, 299, 299) in
[-1, 1] as ``aegan.metrics.inception.inception_input`` makes it, output (n, num_classes)
logits). The file must be a TorchScript archive (read by ``torch.jit.load``'s restricted
unpickler: a plain pickle or state_dict is refused, never unpickled); its output shape is
checked on two images when the config is loaded, and its SHA-256 (optionally pinned by
``sha256``) is reported with the score. Without ``weights`` the config fails, before training.
"""

from __future__ import annotations

import math
import zipfile
from functools import lru_cache
from pathlib import Path

import torch
from pydantic import Field, PositiveInt

from aegan.metrics.base import EvalContext, MetricParams, register_metric
from aegan.metrics.classifier import WeightsError, sha256_file
from aegan.metrics.inception import INCEPTION_SIZE, default_device, inception_input, load_torchscript

PARAM = "eval.params.inception_score.weights"


class InceptionScoreParams(MetricParams):
    weights: str | None = None  # TorchScript file of the classifier; required (no offline source)
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")  # the file's expected SHA-256, if pinned
    num_classes: PositiveInt = 1008  # outputs the network must have
    splits: PositiveInt = 10
    batch_size: PositiveInt = 50
    device: str | None = None  # None: the run's device (outside a run: cuda when available)


def _missing() -> str:
    return (f"the Inception Score on natural images needs the 1008-class TF Inception network, which aegan "
            f"cannot ship or download; pass a TorchScript file of it (input (n, 3, 299, 299) in [-1, 1], "
            f"output (n, 1008) logits) as --{PARAM}=PATH")


@lru_cache(maxsize=2)
def _checked(path: str, size: int, mtime_ns: int, num_classes: int, device: str, sha256: str | None):
    file = Path(path)
    digest = sha256_file(file)
    if sha256 is not None and digest != sha256:
        raise WeightsError(f"{PARAM}: {file} has SHA-256 {digest}, not the pinned {sha256}")
    if not zipfile.is_zipfile(file):
        raise WeightsError(f"{PARAM}: {file} is not a TorchScript archive (plain pickles and state_dicts are "
                           "refused: save the network with torch.jit.script or torch.jit.trace, then torch.jit.save)")
    try:
        net = load_torchscript(file, device)
    except (RuntimeError, ValueError) as err:
        raise WeightsError(f"{PARAM}: {file} does not load as TorchScript ({str(err).splitlines()[0]})") from None
    probe = torch.linspace(-1, 1, 2 * 3 * INCEPTION_SIZE ** 2, device=device).view(2, 3, INCEPTION_SIZE, INCEPTION_SIZE)
    try:
        with torch.no_grad():
            out = net(probe)
    except Exception as err:  # a scripted graph can raise anything
        raise WeightsError(f"{PARAM}: {file} fails on a (2, 3, {INCEPTION_SIZE}, {INCEPTION_SIZE}) input "
                           f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, num_classes):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise WeightsError(f"{PARAM}: {file} gives {shape} for 2 images, expected (2, {num_classes}) logits "
                           "(num_classes sets the count)")
    return net, digest


def load_classifier(p: InceptionScoreParams, device: str):
    """The checked network and its SHA-256 (cached per file version and device)."""
    if not p.weights:
        raise WeightsError(f"{PARAM}: {_missing()}")
    file = Path(p.weights).expanduser()
    try:
        st = file.stat() if file.is_file() else None
    except (OSError, ValueError):  # a name the file system cannot take (a NUL byte, too long)
        st = None
    if st is None:
        raise WeightsError(f"{PARAM}: {file} is not a file")
    return _checked(str(file.resolve()), st.st_size, st.st_mtime_ns, p.num_classes, device, p.sha256)


def preflight(p: InceptionScoreParams) -> None:
    """Run when a config names the metric: the file is there, loads and has the right output."""
    try:
        load_classifier(p, "cpu")
    except WeightsError as err:
        raise ValueError(str(err).removeprefix("eval.params.inception_score.")) from None


def inception_score(logits: torch.Tensor, splits: int) -> tuple[float, float]:
    """(n, classes) logits -> mean and std over ``splits`` parts of exp(E KL(p(y|x) || p(y)))."""
    if len(logits) < splits:
        raise ValueError(f"inception_score: {len(logits)} samples cannot make {splits} splits")
    log_p = torch.log_softmax(logits.double(), dim=1)
    scores = []
    for part in log_p.tensor_split(splits):
        log_marginal = torch.logsumexp(part, dim=0) - math.log(len(part))
        scores.append(float((part.exp() * (part - log_marginal)).sum(1).mean().exp()))
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))  # population std, as the TF code
    return mean, std


@register_metric("inception_score", InceptionScoreParams, data_kinds=("images",), preflight=preflight)
def inception_score_metric(ctx: EvalContext, p: InceptionScoreParams) -> dict[str, float | str]:
    device = default_device(p.device or ctx.device)
    net, digest = load_classifier(p, device)
    generated = ctx.generate(ctx.n_samples)
    with torch.no_grad():
        logits = torch.cat([net(inception_input(generated[i: i + p.batch_size].to(device))).double().cpu()
                            for i in range(0, len(generated), p.batch_size)])
    mean, std = inception_score(logits, p.splits)
    return {"inception_score": mean, "inception_score_std": std, "weights_sha256": digest}
