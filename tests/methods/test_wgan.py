import torch

from aegan.train import Trainer
from tests.conftest import tiny_config


def test_wgan_clips_critic_weights_and_uses_rmsprop(tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": "wgan", "method.clip": 0.02, "method.n_critic": 3}), tmp_path)
    phases = trainer.method.phases(0)
    assert [p.name for p in phases] == ["critic"] * 3 + ["generator"]
    assert all(p.fresh_batch and p.after_step is not None for p in phases[:3])
    assert isinstance(trainer.optimizers["discriminator"], torch.optim.RMSprop)
    assert isinstance(trainer.optimizers["generator"], torch.optim.RMSprop)
    assert trainer.optimizers["discriminator"].param_groups[0]["lr"] == trainer.method.config.lr
    assert any(p.abs().max() > 0.02 for p in trainer.nets["discriminator"].parameters())  # default init is wider
    names, values = trainer.train_step()
    for p in trainer.nets["discriminator"].parameters():
        assert p.abs().max() <= 0.02 + 1e-7
    assert "diag/wasserstein_estimate" in names


def test_wgan_critic_loss_has_no_sigmoid(tmp_path):
    from tests.methods.baseline_helpers import batch, method, Spy

    m = method("wgan")
    d = Spy()
    scratch = {"fake": torch.tensor([[1.0, 1.0]])}
    assert m.generator_terms({"discriminator": d}, batch([0.0, 0.0]), scratch)["adversarial"].item() == -2.0
