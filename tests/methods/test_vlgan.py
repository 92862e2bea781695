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
    assert [p.fresh_batch for p in phases] == [False, True, True, True, False]  # Algorithm 1 line 10
    assert phases[0].updates == ("encoder", "generator")


def test_fresh_z_for_each_d_step_and_for_the_g_step(tmp_path):
    """Algorithm 1 lines 9 and 15: the G step does not reuse the D step's z."""
    trainer = tiny_trainer("vlgan", tmp_path)
    m, nets, batch = trainer.method, trainer.nets, batch_of(trainer)
    _, d_phase, g_phase = m.phases(0)
    scratch = {}
    d_phase.terms(nets, batch, scratch)
    z_d = scratch["z"]
    g_phase.terms(nets, batch, scratch)
    assert not torch.equal(scratch["z"], z_d)


def test_discriminator_learns_ten_times_faster(tmp_path):
    """002 Sec. 4.1: lr 0.0002 for G and E, 0.002 for D."""
    trainer = tiny_trainer("vlgan", tmp_path, **{"train.lr": 2e-4})
    lrs = {name: opt.param_groups[0]["lr"] for name, opt in trainer.optimizers.items()}
    assert_close(torch.tensor([lrs["generator"], lrs["encoder"], lrs["discriminator"]]),
                 torch.tensor([2e-4, 2e-4, 2e-3]))
    trainer.apply_lr_schedule()  # the schedule keeps the ratio (it scales each base lr)
    assert trainer.optimizers["discriminator"].param_groups[0]["lr"] == 10 * trainer.optimizers["generator"].param_groups[0]["lr"]


def test_generator_loss_option_switches_between_minimax_and_nonsaturating(tmp_path):
    logits = torch.tensor([-6.0, -2.0, 0.5])  # D confidently rejects the fakes
    default = tiny_trainer("vlgan", tmp_path / "a").method  # line 17: log(1 - D(G(z)))
    nonsat = tiny_trainer("vlgan", tmp_path / "b", **{"method.generator_loss": "nonsaturating"}).method
    d = torch.sigmoid(logits)
    assert_close(default.generator_loss(logits), torch.log1p(-d).mean())  # log(1 - D): saturates as D -> 0
    assert_close(nonsat.generator_loss(logits), -torch.log(d).mean())


def test_the_nets_start_from_xavier_weights_as_in_002(tmp_path):
    """002 Sec. 5: Xavier (Glorot) initialisation: uniform on +-sqrt(6 / (fan_in + fan_out)), zero biases."""
    import math

    from torch import nn

    for init, expect_xavier in (("xavier", True), ("default", False)):
        nets = tiny_trainer("vlgan", tmp_path / init, **{"method.init": init}).nets
        layers = [m for net in nets.values() for m in net.modules() if isinstance(m, nn.Linear)]
        assert len(layers) >= 9  # G, D and E: 3 layers each
        for layer in layers:
            fan_out, fan_in = layer.weight.shape
            bound = math.sqrt(6 / (fan_in + fan_out))
            largest = float(layer.weight.detach().abs().max())
            within, spread = largest <= bound, largest > 0.7 * bound  # the whole range is used
            zero_bias = bool((layer.bias == 0).all())
            assert (within and spread and zero_bias) == expect_xavier, (init, layer)
