import torch
from torch import nn
from torch.testing import assert_close

from aegan.nets.autoencoder import AutoencoderDiscriminator
from tests.methods.baseline_helpers import Affine, batch, method


def _zero_decoder_d():
    """Enc = identity, Dec = 0 * code: energy(x) = mean(x^2)."""
    return AutoencoderDiscriminator(nn.Identity(), Affine(scale=0.0))


def test_ebgan_margin_and_pulling_away_on_closed_form_inputs():
    m = method("ebgan", margin=1.0, pt_weight=0.1)
    nets = {"discriminator": _zero_decoder_d()}
    b = batch([1.0, 1.0], [3.0, 3.0])  # energies 1, 9
    scratch = {"fake": torch.tensor([[1.0, 0.0], [1.0, 1.0]])}  # energies 0.5, 1 -> hinge 0.5, 0
    d_terms = m.discriminator_terms(nets, b, scratch)
    assert_close(d_terms["margin"], torch.tensor(5.0 + 0.25))
    g_terms = m.generator_terms(nets, b, scratch)
    assert_close(g_terms["energy"], torch.tensor(0.75))
    assert_close(g_terms["pulling_away"], torch.tensor(0.1 * 0.5))  # cos^2 = 1/2 between the two codes


def test_ebgan_without_pt_has_no_pt_term():
    m = method("ebgan", pt_weight=0.0)
    terms = m.generator_terms({"discriminator": _zero_decoder_d()}, batch([0.0, 0.0]), {"fake": torch.ones(2, 2)})
    assert set(terms) == {"energy"}
