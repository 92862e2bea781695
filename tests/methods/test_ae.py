"""ae: reconstruction + latent matching only; samples are G(z) from the prior."""

import torch
from torch.testing import assert_close

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from tests.methods._helpers import batch_of, tiny_trainer


def test_ae_has_no_data_discriminator_and_generates_from_prior(tmp_path):
    trainer = tiny_trainer("ae", tmp_path)
    assert set(trainer.nets) == {"encoder", "generator", "latent_discriminator"}
    z = torch.randn(5, 2)
    assert_close(trainer.method.generate(trainer.nets, z), trainer.nets["generator"](z))
    assert [p.name for p in trainer.method.phases(0)] == ["autoencoder", "latent_discriminator"]


def test_ae_terms_are_reconstruction_and_latent_matching(tmp_path):
    trainer = tiny_trainer("ae", tmp_path)
    nets, batch, scratch = trainer.nets, batch_of(trainer), {}
    terms = trainer.method.autoencoder_terms(nets, batch, scratch)
    code = nets["encoder"](batch.x)
    recon = nets["generator"](code)
    # 000: lambda = 100 on the l2 norm of each sample's error (App. D), not on its square
    assert_close(terms["reconstruction"], 100.0 * (batch.x - recon).pow(2).sum(1).sqrt().mean())
    assert_close(terms["latent"], adv.bce_real(nets["latent_discriminator"](code)))


def test_latent_discriminator_treats_prior_as_real():
    torch.manual_seed(0)
    dz = torch.nn.Linear(2, 1)
    codes, prior = torch.randn(8, 2) + 3.0, torch.randn(8, 2)
    expected = adv.bce_real(dz(prior)) + adv.bce_fake(dz(codes))
    assert_close(shared.latent_discriminator_loss(dz, codes, prior), expected)
