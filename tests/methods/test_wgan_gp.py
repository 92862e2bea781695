import torch
from torch import nn
from torch.testing import assert_close

from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods.baseline_helpers import method


def _linear(w):
    d = nn.Linear(2, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([w]))
    return lambda x: d(x).squeeze(-1)


def test_gradient_penalty_zero_for_unit_gradient_and_large_otherwise():
    m = method("wgan_gp")
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    zero = m.critic_penalty({"discriminator": _linear([0.6, 0.8])}, real, fake)["gradient_penalty"]
    assert_close(zero, torch.tensor(0.0), atol=1e-5, rtol=0)
    big = m.critic_penalty({"discriminator": _linear([3.0, 4.0])}, real, fake)["gradient_penalty"]
    assert_close(big, torch.tensor(10.0 * 16.0))


def test_wgan_gp_paper_optimiser_and_no_clipping(tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": "wgan_gp"}), tmp_path)
    phases = trainer.method.phases(0)
    assert [p.name for p in phases] == ["critic"] * 5 + ["generator"]
    assert all(p.after_step is None for p in phases)
    group = trainer.optimizers["discriminator"].param_groups[0]
    assert isinstance(trainer.optimizers["discriminator"], torch.optim.Adam)
    assert group["betas"] == (0.0, 0.9) and group["lr"] == 1e-4
