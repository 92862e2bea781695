import torch
from torch import nn

from aegan.methods.base import Batch
from aegan.nets.factory import MLPConfig, MLPFactory
from tests.methods.baseline_helpers import method


def test_vaegan_reconstruction_lives_in_discriminator_feature_space():
    torch.manual_seed(0)
    m = method("vaegan")
    nets = m.build_nets(MLPFactory(MLPConfig(hidden=8), (2,)))
    x = torch.randn(16, 2)
    assert nets["encoder"](x).shape == (16, 4)  # mu and log-variance
    assert m.feature_likelihood(nets, x, x.clone()).item() == 0.0
    far = x + 5.0
    expected = 0.5 * (nets["discriminator"].features(x) - nets["discriminator"].features(far)).pow(2).sum(1).mean()
    torch.testing.assert_close(m.feature_likelihood(nets, x, far), expected)


def test_vaegan_discriminator_sees_reconstructions_and_samples_as_fake():
    torch.manual_seed(0)
    m = method("vaegan")
    nets = m.build_nets(MLPFactory(MLPConfig(hidden=8), (2,)))
    seen = []
    d = nets["discriminator"]
    d.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    x = torch.randn(16, 2)
    scratch: dict = {}
    for phase in m.phases(0):
        phase.terms(nets, Batch(x), scratch)
    real_tilde, p = seen[-2], seen[-1]
    torch.testing.assert_close(real_tilde[:16], x)
    torch.testing.assert_close(real_tilde[16:], scratch["x_tilde"])
    torch.testing.assert_close(p, scratch["fake"].detach())
