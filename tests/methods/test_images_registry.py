"""Every registered method (looked up when the tests run) trains on images with the conv
family (and the mlp family): one step per phase on sklearn's 8x8 digits with tiny nets, finite losses, each phase
moves exactly the nets it declares; and a short run writes image snapshots and a grid."""

from __future__ import annotations

import pytest
import torch

from aegan.methods import METHODS
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods._helpers import check_one_step

IMAGE = {
    "data": {"name": "digits"},
    "model": {"family": "conv", "latent_dim": 4, "width": 4, "fc": 16, "layers": 2},
    "eval": {"metrics": [], "n_samples": 64},
}


def _config(method: str, family: str = "conv", **overrides):
    model = dict(IMAGE["model"], family=family)
    if family == "dcgan":
        model["fc"] = 0
    if family == "mlp":
        model = {"family": "mlp", "latent_dim": 4, "hidden": 16, "depth": 2}
    return tiny_config(**{"method.name": method, "data": IMAGE["data"], "model": model, "eval": IMAGE["eval"],
                          **overrides})


@pytest.mark.parametrize("name", list(METHODS))
def test_method_runs_on_conv_nets(name, tmp_path):
    trainer = Trainer(_config(name), tmp_path)
    assert trainer.data.next_batch(2).x.shape[1:] == (1, 8, 8)
    check_one_step(trainer, name)
    samples = trainer.generate(3, seed=0)
    assert samples.shape == (3, 1, 8, 8) and torch.isfinite(samples).all()


@pytest.mark.parametrize("name", list(METHODS))
def test_method_runs_on_mlp_nets_over_images(name, tmp_path):
    """001 Table 1's grid trains MLPs on MNIST: every method takes the mlp family on images."""
    trainer = Trainer(_config(name, family="mlp"), tmp_path)
    check_one_step(trainer, name)
    samples = trainer.generate(3, seed=0)
    assert samples.shape == (3, 1, 8, 8) and ((samples >= 0) & (samples <= 1)).all()


def test_short_run_writes_image_snapshots(tmp_path):
    trainer = Trainer(_config("nsgan", family="dcgan"), tmp_path)
    trainer.fit(progress=False)
    snaps = sorted((tmp_path / "samples").glob("step_*.npy"))
    assert snaps and (tmp_path / "samples.png").is_file()


@pytest.mark.parametrize("name", list(METHODS))
def test_sampling_normalises_with_trained_statistics(name, tmp_path):
    """G(z) at eval time must use batch-norm statistics estimated in training: GAN+AE and AE
    train G on encoder codes only, and sampled with the never-updated prior statistics
    (a near-constant image: one mode of 1000 on compositional MNIST)."""
    from aegan.nets.source_bn import SOURCES, SourceBatchNorm

    trainer = Trainer(_config(name), tmp_path)
    trainer.train_step()
    used = []
    hooks = [m.register_forward_pre_hook(lambda m, args: used.append((m, args[1] if len(args) > 1 else "prior")))
             for m in trainer.nets["generator"].modules() if isinstance(m, SourceBatchNorm)]
    trainer.generate(4, seed=0)
    for hook in hooks:
        hook.remove()
    assert used
    for bn, source in used:
        mean, var = bn.statistics(source)
        trained = [s for s in SOURCES if int(getattr(bn, f"batches_{s}")) > 0]
        estimated = [(getattr(bn, f"running_mean_{s}"), getattr(bn, f"running_var_{s}")) for s in trained]
        assert any(torch.equal(mean, m) and torch.equal(var, v) for m, v in estimated), \
            f"{name}: G(z) normalises with statistics no training batch estimated"
