"""vlgan: the VAE step (recon + beta KL, reparameterised), k D steps, a G step."""

import torch
from torch.testing import assert_close

from aegan.methods.vlgan import reparameterize
from tests.methods._helpers import batch_of, tiny_trainer


def test_kl_is_zero_for_standard_normal_posterior(tmp_path):
    trainer = tiny_trainer("vlgan", tmp_path, **{"method.beta": 1.0})
    nets, batch = trainer.nets, batch_of(trainer)
    last = nets["encoder"].net[-1]
    assert last.out_features == 4, "the encoder outputs mu and logvar"
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()  # mu = 0, logvar = 0: q(z|x) = N(0, I)
    terms = trainer.method.vae_terms(nets, batch, {})
    assert_close(terms["kl"], torch.tensor(0.0))
    with torch.no_grad():
        last.bias[:2] = 1.0  # mu = 1, logvar = 0: KL = 1/2 * |mu|^2 = 1 per sample
    assert_close(trainer.method.vae_terms(nets, batch, {})["kl"], torch.tensor(1.0))


def test_reparameterize_moments():
    torch.manual_seed(0)
    stats = torch.tensor([[2.0, -1.0, 2 * torch.log(torch.tensor(3.0)).item(), 0.0]]).repeat(20000, 1)
    z, mu, logvar = reparameterize(stats)
    assert_close(z.mean(0), torch.tensor([2.0, -1.0]), atol=0.06, rtol=0)
    assert_close(z.std(0), torch.tensor([3.0, 1.0]), atol=0.06, rtol=0)


def test_k_discriminator_steps_with_fresh_batches(tmp_path):
    m = tiny_trainer("vlgan", tmp_path, **{"method.discriminator_steps": 3}).method
    phases = m.phases(0)
    assert [p.name for p in phases] == ["vae", "discriminator", "discriminator_2", "discriminator_3", "generator"]
    assert [p.fresh_batch for p in phases] == [False, False, True, True, False]
    assert phases[0].updates == ("encoder", "generator")


def test_generator_loss_option_switches_between_minimax_and_nonsaturating(tmp_path):
    logits = torch.tensor([-6.0, -2.0, 0.5])  # D confidently rejects the fakes
    minimax = tiny_trainer("vlgan", tmp_path / "a", **{"method.generator_loss": "minimax"}).method
    default = tiny_trainer("vlgan", tmp_path / "b").method
    d = torch.sigmoid(logits)
    assert_close(minimax.generator_loss(logits), torch.log1p(-d).mean())  # log(1 - D): saturates as D -> 0
    assert_close(default.generator_loss(logits), -torch.log(d).mean())
