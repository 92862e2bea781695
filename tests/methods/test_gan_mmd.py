import torch
from torch.testing import assert_close

from aegan.losses.divergences import mmd
from aegan.methods.base import Batch
from tests.methods.baseline_helpers import Spy, method


def test_gan_mmd_adds_weighted_mmd_to_the_nsgan_loss():
    m = method("gan_mmd", mmd_weight=3.0)
    x, fake = torch.randn(16, 2), torch.randn(16, 2) + 2.0
    terms = m.generator_terms({"discriminator": Spy()}, Batch(x), {"fake": fake})
    assert set(terms) == {"adversarial", "mmd"}
    assert_close(terms["mmd"], 3.0 * mmd(x, fake, m.config.bandwidths))
    terms = m.generator_terms({"discriminator": Spy()}, Batch(x), {"fake": x.clone()})
    assert terms["mmd"].item() < 1e-4
