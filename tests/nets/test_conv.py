"""The conv/DCGAN families: shapes for any image size, the roles' attributes, and the
generator's separate batch-norm statistics per code source."""

from __future__ import annotations

import pytest
import torch

from aegan.nets import FAMILIES, build_factory
from aegan.nets.source_bn import SourceBatchNorm


def _factory(family, shape, **params):
    return build_factory(family, FAMILIES[family][0](**params), shape)


@pytest.mark.parametrize("family", ["conv", "dcgan"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 28, 28), (1, 28, 84), (3, 32, 32)])
def test_shapes_and_roles(family, shape):
    f = _factory(family, shape, width=4, fc=0 if family == "dcgan" else 16, latent_dim=3)
    g, d, e = f.generator(), f.discriminator(), f.encoder(out_dim=6)
    x = g(torch.randn(5, 3))
    assert x.shape == (5, *shape) and 0 <= x.min() and x.max() <= 1  # sigmoid output
    assert d(x).shape == (5,) and d.features(x).shape == (5, d.feature_dim)
    assert d.head(d.features(x)).shape == (5, 1)
    assert f.discriminator(out_dim=4)(x).shape == (5, 4)
    assert e(x).shape == (5, 6)
    assert d.batch_coupled is True
    h = torch.randn(5, g.hidden_dim)
    assert g.from_hidden(h, source="encoder").shape == (5, *shape)
    assert d.feature_dim == g.hidden_dim  # GAN-RL feeds D's features to G's second entry


def test_table3_layout():
    f = _factory("conv", (1, 28, 28))
    g, d = f.generator(), f.discriminator()
    assert f.config.latent_dim == 50 and g.hidden_dim == 1024 and d.feature_dim == 1024
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(64, (5, 5), (2, 2)), (128, (5, 5), (2, 2))]
    deconvs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in deconvs] == [64, 1]
    linears = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [1024, 7 * 7 * 128]


def test_no_batchnorm_discriminator_is_not_batch_coupled():
    d = _factory("conv", (1, 8, 8), width=4, fc=8, d_batchnorm=False).discriminator()
    assert not d.batch_coupled
    assert not any(isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d) for m in d.modules())


def test_generator_keeps_separate_bn_statistics_per_source():
    torch.manual_seed(0)
    g = _factory("conv", (1, 8, 8), width=4, fc=8, latent_dim=3).generator().train()
    bns = [m for m in g.modules() if isinstance(m, SourceBatchNorm)]
    assert bns
    g(torch.randn(64, 3), source="prior")
    after_prior = {k: v.clone() for k, v in g.state_dict().items() if "running" in k}
    g(5 + 3 * torch.randn(64, 3), source="encoder")
    after_encoder = {k: v.clone() for k, v in g.state_dict().items() if "running" in k}
    for k in after_prior:
        if k.endswith("_prior"):
            assert torch.equal(after_prior[k], after_encoder[k]), f"{k} moved on an encoder batch"
        elif "running_mean" in k:
            assert not torch.equal(after_prior[k], after_encoder[k]), f"{k} did not move on an encoder batch"
    # shared affine parameters: one weight and bias per layer, not one per source
    names = [n for n, _ in bns[0].named_parameters()]
    assert names == ["weight", "bias"]
    # in eval mode each source uses its own statistics
    g.eval()
    z = torch.randn(4, 3)
    assert not torch.allclose(g(z, source="prior"), g(z, source="encoder"))
    with pytest.raises(ValueError, match="source"):
        g(z, source="decoder")


def test_conv_family_rejects_vectors():
    with pytest.raises(ValueError, match="image data"):
        _factory("conv", (2,))


def _encoder_only_generator():
    """A generator trained (in train mode) on encoder batches only, as AE and GAN+AE train it."""
    torch.manual_seed(0)
    g = _factory("conv", (1, 8, 8), width=4, fc=8, latent_dim=3).generator().train()
    for _ in range(3):
        g(5 + 3 * torch.randn(64, 3), source="encoder")
    return g.eval()


def test_a_source_never_trained_samples_with_the_trained_statistics():
    g = _encoder_only_generator()
    bns = [m for m in g.modules() if isinstance(m, SourceBatchNorm)]
    assert all(int(b.batches_prior) == 0 and int(b.batches_encoder) == 3 for b in bns)
    z = torch.randn(16, 3)
    # before the fix G(z) normalised with the untouched (0, 1) prior statistics
    assert torch.equal(g(z), g(z, source="encoder"))
    for bn in bns:
        mean, var = bn.statistics("prior")
        assert torch.equal(mean, bn.running_mean_encoder) and torch.equal(var, bn.running_var_encoder)


def test_checkpoints_without_batch_counters_still_load():
    g = _encoder_only_generator()
    old = {k: v for k, v in g.state_dict().items() if ".batches_" not in k}
    fresh = _factory("conv", (1, 8, 8), width=4, fc=8, latent_dim=3).generator()
    fresh.load_state_dict(old)
    counts = {k: int(v) for k, v in fresh.state_dict().items() if ".batches_" in k}
    assert counts and all(v == (k.endswith("_encoder")) for k, v in counts.items())
    z = torch.randn(8, 3)
    assert torch.equal(fresh.eval()(z), g(z))
