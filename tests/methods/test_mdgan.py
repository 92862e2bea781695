"""mdgan: D1 separates x from G(E(x)); D2 treats G(E(x)) as real and G(z) as fake."""

import torch
from torch.testing import assert_close

from aegan.losses import adversarial as adv
from tests.methods._helpers import batch_of, sgd_step, tiny_trainer


def test_d2_treats_reconstructions_as_real(tmp_path):
    trainer = tiny_trainer("mdgan", tmp_path)
    nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
    fake = torch.randn(len(batch), 2)
    scratch = {"fake": fake}
    bce = m.diffusion_discriminator_terms(nets, batch, scratch)["bce"]
    recon = nets["generator"](nets["encoder"](batch.x), source="encoder")
    d2 = nets["discriminator2"]
    assert_close(bce, adv.bce_real(d2(recon)) + adv.bce_fake(d2(fake)))
    before = torch.sigmoid(d2(recon)).mean().item()
    sgd_step(bce, list(d2.parameters()), lr=0.1)
    assert torch.sigmoid(d2(recon)).mean().item() > before


def test_d1_separates_data_from_reconstructions(tmp_path):
    trainer = tiny_trainer("mdgan", tmp_path)
    nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
    scratch = {}
    bce = m.manifold_discriminator_terms(nets, batch, scratch)["bce"]
    d1 = nets["discriminator"]
    recon = nets["generator"](nets["encoder"](batch.x))
    assert_close(bce, adv.bce_real(d1(batch.x)) + adv.bce_fake(d1(recon)))
    terms = m.manifold_terms(nets, batch, scratch)
    assert_close(terms["reconstruction"], (batch.x - recon).pow(2).sum(1).mean())
    assert [(p.name, p.updates) for p in m.phases(0)] == [
        ("manifold_discriminator", ("discriminator",)), ("manifold", ("generator", "encoder")),
        ("diffusion_discriminator", ("discriminator2",)), ("diffusion", ("generator",))]


def test_manifold_adversarial_term_reaches_g_only(tmp_path):
    """001 App. A step 3 updates G with lambda log D1(G(E(x))); E gets the reconstruction only."""
    trainer = tiny_trainer("mdgan", tmp_path)
    nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
    scratch = {}
    m.manifold_discriminator_terms(nets, batch, scratch)
    terms = m.manifold_terms(nets, batch, scratch)
    e_params, g_params = list(nets["encoder"].parameters()), list(nets["generator"].parameters())
    e_grads = torch.autograd.grad(terms["adversarial"], e_params, retain_graph=True, allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in e_grads)
    g_grads = torch.autograd.grad(terms["adversarial"], g_params, retain_graph=True)
    assert any(g.abs().sum() > 0 for g in g_grads)
    assert all(g.abs().sum() > 0 for g in torch.autograd.grad(terms["reconstruction"], e_params))


def test_diffusion_step_draws_a_new_batch(tmp_path):
    """001 App. A step 4: the diffusion step samples its own batch."""
    m = tiny_trainer("mdgan", tmp_path).method
    assert [p.fresh_batch for p in m.phases(0)] == [False, False, True, False]
