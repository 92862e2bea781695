import torch
from torch.testing import assert_close

from aegan.methods.base import Batch
from tests.methods.baseline_helpers import Affine, Spy, method


def test_alpha_gan_data_discriminator_sees_reconstructions_and_samples_as_fake():
    torch.manual_seed(0)
    m = method("alpha_gan", reconstruction_weight=2.0)
    enc, gen, d, c = Affine(scale=1.0), Affine(scale=3.0), Spy(), Spy()
    nets = {"encoder": enc, "generator": gen, "discriminator": d, "code_discriminator": c}
    x = torch.randn(4, 2)
    scratch: dict = {}
    m.discriminator_terms(nets, Batch(x), scratch)
    real_recon = d.calls[-2][0]
    assert_close(real_recon[:4], x)
    assert_close(real_recon[4:], 3.0 * x)  # G(E(x))
    assert_close(d.calls[-1][0], 3.0 * scratch["z"])  # G(z)
    m.code_discriminator_terms(nets, Batch(x), scratch)
    assert_close(c.calls[-1][0], torch.cat([scratch["z"], x]))  # prior real, E(x) fake
    e_terms = m.encoder_terms(nets, Batch(x), scratch)
    assert_close(e_terms["reconstruction"], 2.0 * (2 * x).abs().sum(1).mean())
    assert_close(e_terms["code_adversarial"], -x.sum(1).mean())  # log-ratio loss = -mean logit
    g_terms = m.generator_terms(nets, Batch(x), scratch)
    assert set(g_terms) == {"reconstruction", "adversarial_recon", "adversarial_sample"}
