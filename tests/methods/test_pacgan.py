"""PacGAN (Lin et al. 2018): packing by hand, D's input width, the packed NS-GAN loss on a
hand-made D, per-pack gradient penalties, the configs' m, and the refusals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from aegan.results.rows import Job
from aegan.config import ConfigError
from aegan.losses import adversarial as adv
from aegan.losses.penalties import _grad_norm_penalty, interpolate
from aegan.methods import Batch
from aegan.methods.base import discriminate
from aegan.methods.gan import NSGAN
from aegan.methods.pacgan import PacGAN, PacGANConfig
from aegan.nets.packing import attach_packing, pack, pack_of
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods.test_images_registry import _config as image_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_a_batch_of_four_makes_two_packs_of_two_by_hand():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    assert torch.equal(pack(x, 2), torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]))
    assert torch.equal(pack(x, 4), torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]]))
    assert pack(x, 1) is x


def test_images_pack_along_the_channel_axis():
    """(N, C, H, W) -> (N/m, m*C, H, W): pack i holds samples 2i and 2i+1 as channels (their
    stacked MNIST code: tf.concat(G_sep, 3), channels last)."""
    x = torch.arange(4 * 3 * 2 * 2, dtype=torch.float32).reshape(4, 3, 2, 2)
    packed = pack(x, 2)
    assert packed.shape == (2, 6, 2, 2)
    assert torch.equal(packed[1, :3], x[2]) and torch.equal(packed[1, 3:], x[3])


def test_a_batch_that_does_not_split_into_packs_is_an_error():
    with pytest.raises(ValueError, match="does not split into packs of 2"):
        pack(torch.zeros(3, 2), 2)


def test_ds_input_is_m_times_wider_and_it_answers_once_per_pack(tmp_path):
    for m in (2, 4):
        trainer = Trainer(tiny_config(**{"method.name": "pacgan", "method.pack": m}), tmp_path / str(m))
        d = trainer.nets["discriminator"]
        assert d.features[0].in_features == 2 * m and pack_of(d) == m
        assert d(torch.zeros(32, 2)).shape == (32 // m,)
        assert trainer.nets["generator"](torch.zeros(5, 2)).shape == (5, 2)  # G is NS-GAN's


def test_conv_ds_first_layer_takes_m_times_the_channels(tmp_path):
    trainer = Trainer(image_config("pacgan"), tmp_path)
    d = trainer.nets["discriminator"]
    first = next(m for m in d.modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == 2 * 1  # digits: one channel, packs of 2
    assert d(torch.zeros(6, 1, 8, 8)).shape == (3,)
    assert trainer.factory.discriminator().features.net[0].in_channels == 1  # the third-party D stays unpacked


class SumD(nn.Module):
    """A hand-made D: the logit of a pack is the sum of its coordinates."""

    def __init__(self):
        super().__init__()
        self.features = nn.Identity()

    def forward(self, x):
        return self.features(x).sum(1)


def test_the_packed_loss_is_ns_gans_loss_on_the_packs_by_hand():
    """Real packs sum to logits (0, ln 3), generated packs to (0, -ln 3):
    D's BCE = [ln 2 + ln 4/3] / 2 + [ln 2 + ln 4/3] / 2 = ln 8/3;  G's -E log D = (ln 2 + ln 4) / 2."""
    ln3 = math.log(3.0)
    real = torch.tensor([[0.5, -0.5], [0.0, 0.0], [ln3, 0.0], [0.0, 0.0]])
    fake = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, -ln3], [0.0, 0.0]])
    nets = {"discriminator": attach_packing(SumD(), 2)}
    method = PacGAN(PacGANConfig(), latent_dim=2)
    scratch = {"fake": fake}
    d_loss = method.discriminator_terms(nets, Batch(real), scratch)["bce"]
    g_loss = method.generator_terms(nets, Batch(real), scratch)["adversarial"]
    assert d_loss.item() == pytest.approx(math.log(8 / 3), abs=1e-6)
    assert g_loss.item() == pytest.approx(1.5 * math.log(2.0), abs=1e-6)
    # NS-GAN's own loss on the packs' logits, and NS-GAN's method on an unpacked D fed the packs
    logits = torch.tensor([0.0, ln3]), torch.tensor([0.0, -ln3])
    assert d_loss.item() == pytest.approx(adv.discriminator_bce(*logits).item(), abs=1e-6)
    nsgan, unpacked, packed_real = NSGAN(NSGAN.Config(), latent_dim=2), {"discriminator": SumD()}, Batch(pack(real, 2))
    packed_fake = {"fake": pack(fake, 2)}
    ns_d = nsgan.discriminator_terms(unpacked, packed_real, packed_fake)["bce"]
    ns_g = nsgan.generator_terms(unpacked, packed_real, packed_fake)["adversarial"]
    assert d_loss.item() == pytest.approx(ns_d.item(), abs=1e-6) and g_loss.item() == pytest.approx(ns_g.item(), abs=1e-6)


def test_one_pass_over_real_and_fake_never_mixes_them_in_a_pack():
    d = attach_packing(SumD(), 2)
    real_logits, fake_logits = discriminate(d, torch.ones(4, 1), -torch.ones(4, 1))
    assert real_logits.tolist() == [2.0, 2.0] and fake_logits.tolist() == [-2.0, -2.0]
    with pytest.raises(ValueError, match="share a pack"):
        discriminate(d, torch.ones(3, 1), -torch.ones(5, 1))


def test_a_packed_critics_gradient_penalty_is_per_pack_by_hand():
    """D(pack) = 3 x1 + 4 x2 on packs (x1, x2) of 1-d samples: the gradient over a pack is
    (3, 4), norm 5, penalty (5 - 1)^2 = 16 (per sample it would be norms 3 and 4: 6.5)."""
    linear = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[3.0, 4.0]]))

    class LinearD(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Identity()
            self.head = linear

        def forward(self, x):
            return self.head(self.features(x)).squeeze(-1)

    assert _grad_norm_penalty(attach_packing(LinearD(), 2), torch.randn(6, 1), 1.0).item() == pytest.approx(16.0)


def test_interpolates_take_one_eps_per_pack():
    real, fake = torch.ones(6, 2), torch.zeros(6, 2)
    eps = interpolate(real, fake, generator=torch.Generator().manual_seed(0), pack=2)[:, 0]
    assert torch.equal(eps[0::2], eps[1::2]) and len(set(eps[0::2].tolist())) == 3
    unpacked = interpolate(real, fake, generator=torch.Generator().manual_seed(0))  # as before packing existed
    assert torch.equal(unpacked[:, 0], torch.rand(6, generator=torch.Generator().manual_seed(0)))


def test_pack_batch_packs_draws_m_times_the_samples(tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": "pacgan", "method.pack_batch": "packs", "train.steps": 1,
                                     "eval.metrics": []}), tmp_path)
    assert trainer._batch_samples == 2 * 32
    drawn = []
    original = trainer.data.training_batch
    trainer.data.training_batch = lambda n: drawn.append(n) or original(n)
    trainer.fit(progress=False)
    assert drawn and set(drawn) == {64}


def test_configs_give_the_published_rows_m():
    """Lin et al. Table 1: PacGAN2 on the ring (7.9 modes), PacGAN4 on the grid (24.8); Table 2: PacDCGAN2."""
    assert Job(str(CONFIGS / "toy/ring8.yaml"), "pacgan", 0, "", ()).config().method.params.pack == 2
    assert Job(str(CONFIGS / "toy/grid25.yaml"), "pacgan", 0, "", ()).config().method.params.pack == 4
    assert Job(str(CONFIGS / "toy/grid25.yaml"), "pacgan_packs", 0, "", ()).config().method.params.pack_batch == "packs"
    stacked = Job(str(CONFIGS / "images/stacked_mnist_cpu.yaml"), "pacgan", 0, "", ()).config()
    assert stacked.method.params.pack == 2 and stacked.train.batch_size % 2 == 0


def test_pacgan_is_nsgan_with_packing_on_and_saved_configs_name_it():
    assert tiny_config(**{"method.name": "pacgan"}).to_dict()["method"] == {"name": "pacgan", "pack": 2}
    assert "pack" not in tiny_config().to_dict()["method"]  # unpacked configs saved before packing still match
    with pytest.raises(ConfigError, match="method.pack"):
        tiny_config(**{"method.name": "pacgan", "method.pack": 1})


def test_refusals_are_config_errors():
    with pytest.raises(ConfigError, match="method.pack: method 'aae' has no discriminator on data samples"):
        tiny_config(**{"method.name": "aae", "method.pack": 2})
    with pytest.raises(ConfigError, match="method.pack: method 'gan_rl' cannot pack"):
        tiny_config(**{"method.name": "gan_rl", "method.pack": 2})
    with pytest.raises(ConfigError, match="train.batch_size 30 does not split into packs of 4"):
        tiny_config(**{"method.name": "pacgan", "method.pack": 4, "train.batch_size": 30})
    tiny_config(**{"method.name": "pacgan", "method.pack": 4, "train.batch_size": 30, "method.pack_batch": "packs"})
    with pytest.raises(ConfigError, match="pack_batch: packs needs pack > 1"):
        tiny_config(**{"method.name": "nsgan", "method.pack_batch": "packs"})
