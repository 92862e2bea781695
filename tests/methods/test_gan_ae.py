"""gan_ae: D's fake batch is H(x) = G(E(x)) (000 Algorithm 1 lines 7, 14, 15)."""

import torch
from torch.testing import assert_close

from aegan.losses import adversarial as adv
from tests.methods._helpers import batch_of, tiny_trainer


def test_discriminator_fake_batch_is_the_reconstruction(tmp_path):
    trainer = tiny_trainer("gan_ae", tmp_path)
    nets, batch, scratch, m = trainer.nets, batch_of(trainer), {}, trainer.method
    g_terms = m.generator_terms(nets, batch, scratch)
    recon = nets["generator"](nets["encoder"](batch.x), source="encoder")
    d = nets["discriminator"]
    assert_close(g_terms["adversarial"], adv.generator_minimax(d(recon)))  # 000 Eq. 3: log(1 - D(H(x)))
    assert m.config.generator_loss == "minimax" and m.config.reconstruction_weight == 100.0
    assert_close(m.discriminator_terms(nets, batch, scratch)["bce"], adv.bce_real(d(batch.x)) + adv.bce_fake(d(recon)))


def test_phase_order_follows_algorithm_1(tmp_path):
    m = tiny_trainer("gan_ae", tmp_path).method
    assert [(p.name, p.updates) for p in m.phases(0)] == [
        ("autoencoder", ("encoder", "generator")), ("generator", ("generator",)),
        ("discriminator", ("discriminator",)), ("latent_discriminator", ("latent_discriminator",))]


def test_minimax_variant(tmp_path):
    trainer = tiny_trainer("gan_ae", tmp_path, **{"method.generator_loss": "minimax"})
    logits = torch.tensor([0.5, -1.0])
    assert_close(trainer.method.adversarial(logits, {}), adv.generator_minimax(logits))


def test_discriminator_sees_the_reconstructions_after_gs_update(tmp_path):
    """Algorithm 1 line 15 follows line 14: D's fake batch is G(E(x)) of the updated G."""
    trainer = tiny_trainer("gan_ae", tmp_path)
    nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
    scratch = {}
    for phase in m.phases(0)[:2]:  # autoencoder (line 13), generator (line 14)
        trainer.run_phase(phase, batch, scratch)
    d = nets["discriminator"]
    with torch.no_grad():
        recon_now = nets["generator"](nets["encoder"](batch.x), source="encoder")
    bce = m.discriminator_terms(nets, batch, scratch)["bce"]
    assert_close(bce, adv.bce_real(d(batch.x)) + adv.bce_fake(d(recon_now)))
    assert not torch.allclose(recon_now, scratch["recon"].detach())  # G moved in line 14
