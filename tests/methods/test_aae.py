import torch

from aegan.methods.base import Batch
from tests.methods.baseline_helpers import Affine, Spy, method


def test_aae_latent_discriminator_sees_prior_codes_as_real_and_encoder_codes_as_fake():
    torch.manual_seed(0)
    m = method("aae")
    enc, d = Affine(scale=2.0, shift=1.0), Spy()
    nets = {"encoder": enc, "generator": Affine(scale=0.5, shift=-0.5), "discriminator": d}
    x = torch.randn(8, 2)
    scratch: dict = {}
    rec = m.reconstruction_terms(nets, Batch(x), scratch)["reconstruction"]
    torch.testing.assert_close(rec, torch.tensor(0.0))  # decoder inverts the encoder exactly
    m.discriminator_terms(nets, Batch(x), scratch)
    (seen,) = d.calls[-1]
    real, fake = seen[:8], seen[8:]
    torch.testing.assert_close(fake, 2.0 * x + 1.0)
    assert not torch.allclose(real, fake)
    assert abs(real.mean().item()) < 1.5  # a prior draw, not the shifted codes
    m.regularization_terms(nets, Batch(x), scratch)
    torch.testing.assert_close(d.calls[-1][0], 2.0 * x + 1.0)
    assert [p.updates for p in m.phases(0)] == [("encoder", "generator"), ("discriminator",), ("encoder",)]
