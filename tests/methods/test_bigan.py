import torch
from torch.testing import assert_close

from aegan.methods.base import Batch
from aegan.nets.factory import MLPConfig, MLPFactory
from aegan.nets.joint import JointDiscriminator
from tests.methods.baseline_helpers import Affine, Spy, method


def test_bigan_discriminator_pairs_x_with_E_x_and_G_z_with_z():
    torch.manual_seed(0)
    m = method("bigan")
    d = Spy()
    nets = {"encoder": Affine(scale=2.0), "generator": Affine(scale=-3.0), "discriminator": d}
    x = torch.randn(5, 2)
    scratch: dict = {}
    m.discriminator_terms(nets, Batch(x), scratch)
    xs, zs = d.calls[-1]
    assert_close(xs[:5], x)
    assert_close(zs[:5], 2.0 * x)  # real pair (x, E(x))
    assert_close(xs[5:], -3.0 * zs[5:])  # fake pair (G(z), z)
    m.generator_encoder_terms(nets, Batch(x), scratch)
    assert_close(d.calls[-1][1][:5], 2.0 * x)


def test_joint_discriminator_depends_on_x_and_z():
    torch.manual_seed(0)
    nets = method("bigan").build_nets(MLPFactory(MLPConfig(hidden=8), (2,)))
    d = nets["discriminator"]
    assert isinstance(d, JointDiscriminator)
    x, z = torch.randn(4, 2), torch.randn(4, 2)
    out = d(x, z)
    assert out.shape == (4,)
    assert not torch.allclose(out, d(x, z + 1.0)) and not torch.allclose(out, d(x + 1.0, z))
