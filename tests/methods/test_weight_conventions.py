"""Each paper's constants multiply the quantity that paper defines (issue: one L per paper).

000 (ae, gan_ae, gan_ae_decay): lambda = 100 and alpha = 0.1 on the same L, the squared
error summed over a sample. 001 (reg_gan, mdgan): ||x - G(E(x))||^2 summed. 002 (vlgan):
the Gaussian log-likelihood, summed. 003 (gan_rl): lambda = 5 on the per-element mean |.|.
"""

import torch
from torch.testing import assert_close

from aegan.losses import reconstruction as rec
from tests.methods._helpers import batch_of, tiny_trainer


def test_reductions_by_hand():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    x_hat = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    # squared errors per sample: 1 + 4 = 5 and 1 -> sum reduction (5 + 1) / 2 = 3; mean 6 / 4 = 1.5
    assert_close(rec.squared_l2(x, x_hat), torch.tensor(3.0))
    assert_close(rec.squared_l2(x, x_hat, "mean"), torch.tensor(1.5))
    assert_close(rec.l1(x, x_hat), torch.tensor(2.0))  # (3 + 1) / 2
    assert_close(rec.l1(x, x_hat, "mean"), torch.tensor(1.0))  # 4 / 4


def test_000_lambda_and_alpha_multiply_one_l2_norm(tmp_path):
    """000 App. D: L is the l2 norm of each sample's error (not its square); lambda and alpha both multiply it."""
    trainer = tiny_trainer("gan_ae_decay", tmp_path)
    m, nets, batch = trainer.method, trainer.nets, batch_of(trainer)
    m.decay.stage = 2
    scratch = {}
    terms = m.autoencoder_terms(nets, batch, scratch)
    norm = (batch.x - scratch["recon"]).pow(2).flatten(1).sum(1).sqrt().mean()
    assert_close(terms["reconstruction"], 100.0 * norm)
    assert_close(scratch["alpha_l"], torch.clamp(0.1 * norm, max=1.0))


def test_001_weights_multiply_the_summed_error(tmp_path):
    m = tiny_trainer("reg_gan", tmp_path).method
    assert (m.config.geometric_weight, m.config.mode_weight) == (0.2, 0.4)
    trainer = tiny_trainer("reg_gan", tmp_path / "b")
    nets, batch = trainer.nets, batch_of(trainer)
    terms = trainer.method.generator_terms(nets, batch, {})
    recon = nets["generator"](nets["encoder"](batch.x), source="encoder")
    assert_close(terms["geometric"], 0.2 * (batch.x - recon).pow(2).sum(1).mean())


def test_003_lambda_multiplies_the_per_element_mean(tmp_path):
    trainer = tiny_trainer("gan_rl", tmp_path)
    nets, batch = trainer.nets, batch_of(trainer)
    x_hat = nets["generator"].from_hidden(nets["discriminator"].features(batch.x), source="encoder")
    terms = trainer.method.discriminator_terms(nets, batch, {})
    assert_close(terms["rl"], 5.0 * (batch.x - x_hat).abs().mean())
