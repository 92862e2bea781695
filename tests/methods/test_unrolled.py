import torch
from torch import nn

from aegan.losses import adversarial as adv
from aegan.methods.unrolled import adam_step
from aegan.nets.factory import MLPConfig, MLPFactory
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods.baseline_helpers import batch, method


def _generator_grad(k: int, loss: str = "minimax"):
    torch.manual_seed(0)
    m = method("unrolled", unroll_steps=k, generator_loss=loss)
    nets = m.build_nets(MLPFactory(MLPConfig(hidden=8), (2,)))
    x = torch.randn(16, 2)
    from aegan.methods.base import Batch

    scratch = {"z": torch.randn(16, 2)}
    scratch["fake"] = nets["generator"](scratch["z"])
    (total,) = m.generator_terms(nets, Batch(x), scratch).values()
    grads = torch.autograd.grad(total, list(nets["generator"].parameters()))
    torch.manual_seed(0)
    nets0 = m.build_nets(MLPFactory(MLPConfig(hidden=8), (2,)))
    fake = nets0["generator"](scratch["z"])
    plain = adv.generator_minimax(nets0["discriminator"](fake)) if loss == "minimax" else adv.generator_nonsaturating(nets0["discriminator"](fake))
    plain_grads = torch.autograd.grad(plain, list(nets0["generator"].parameters()))
    return grads, plain_grads


def test_unrolled_gradient_equals_plain_gan_for_k0_and_differs_for_k_positive():
    for loss in ("minimax", "nonsaturating"):
        g0, plain = _generator_grad(0, loss)
        for a, b in zip(g0, plain):
            torch.testing.assert_close(a, b)
        g3, plain = _generator_grad(3, loss)
        assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(g3, plain))


def test_adam_step_matches_torch_adam():
    torch.manual_seed(0)
    p = nn.Parameter(torch.randn(5))
    opt = torch.optim.Adam([p], lr=0.1, betas=(0.5, 0.999))
    m, v = [torch.zeros(5)], [torch.zeros(5)]
    params = {"p": p.detach().clone()}
    for t in range(1, 4):
        g = torch.randn(5)
        params, m, v = adam_step(params, [g], m, v, t, 0.1, (0.5, 0.999), 1e-8)
        p.grad = g.clone()
        opt.step()
        torch.testing.assert_close(params["p"], p.detach())


def test_shadow_moments_track_the_real_discriminator_optimiser(tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": "unrolled", "method.unroll_steps": 1}), tmp_path)
    for _ in range(2):
        trainer.train_step()
    m = trainer.method
    state = trainer.optimizers["discriminator"].state
    for p, mi, vi in zip(trainer.nets["discriminator"].parameters(), m._m, m._v):
        torch.testing.assert_close(mi, state[p]["exp_avg"])
        torch.testing.assert_close(vi, state[p]["exp_avg_sq"])
    assert m._t == 2
    fresh = method("unrolled")
    fresh.load_state_dict(m.state_dict())
    assert fresh._t == 2 and len(fresh._m) == len(m._m)


def test_unrolled_steps_follow_the_decayed_learning_rate(tmp_path):
    """Under train.lr_decay the look-ahead is the real D optimiser's next step, at its decayed rate."""
    import copy

    cfg = tiny_config(**{"method.name": "unrolled", "method.unroll_steps": 1, "train.steps": 4,
                         "train.lr_decay": "linear", "train.lr_decay_start": 0.0})
    trainer = Trainer(cfg, tmp_path)
    for _ in range(2):
        trainer.train_step()
    trainer.apply_lr_schedule()
    m, d = trainer.method, trainer.nets["discriminator"]
    assert m.lr_factor == 0.5
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    real_logits, fake_logits = m.unrolled_logits(d, real, fake)
    d_next = copy.deepcopy(d)
    opt = torch.optim.Adam(d_next.parameters())
    opt.load_state_dict(trainer.optimizers["discriminator"].state_dict())  # moments, step count, decayed lr
    opt.zero_grad()
    adv.discriminator_bce(d_next(real), d_next(fake)).backward()
    opt.step()
    with torch.no_grad():
        torch.testing.assert_close(real_logits.detach(), d_next(real), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(fake_logits.detach(), d_next(fake), atol=1e-6, rtol=1e-5)


def per_tensor_unrolled_logits(m, d, real, fake):
    """The look-ahead written per parameter tensor (the implementation before the flat one)."""
    from torch.func import functional_call

    c = m.config
    params = dict(d.named_parameters())
    mo = [t.to(p) for t, p in zip(m._m, params.values())] or [torch.zeros_like(p) for p in params.values()]
    vo = [t.to(p) for t, p in zip(m._v, params.values())] or [torch.zeros_like(p) for p in params.values()]

    def logits(ps):
        out = functional_call(d, ps, (torch.cat([real, fake]),))
        return out[: real.shape[0]], out[real.shape[0]:]

    for j in range(c.unroll_steps):
        grads = torch.autograd.grad(adv.discriminator_bce(*logits(params)), list(params.values()), create_graph=True)
        params, mo, vo = adam_step(params, list(grads), mo, vo, m._t + j + 1, c.lr * m.lr_factor, c.betas, c.eps)
    return logits(params)


def test_flat_unrolling_matches_the_per_tensor_unrolling_in_value_and_generator_gradient(tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": "unrolled", "method.unroll_steps": 3}), tmp_path)
    trainer.train_step()  # non-zero shadow moments, t = 1
    m = trainer.method
    nets = {k: v.double() for k, v in trainer.nets.items()}
    m._m, m._v = [t.double() for t in m._m], [t.double() for t in m._v]
    torch.manual_seed(3)
    real, z = torch.randn(12, 2, dtype=torch.float64), torch.randn(12, 2, dtype=torch.float64)
    g_params = list(nets["generator"].parameters())
    results = []
    for fn in (m.unrolled_logits, lambda d, r, f: per_tensor_unrolled_logits(m, d, r, f)):
        real_logits, fake_logits = fn(nets["discriminator"], real, nets["generator"](z))
        loss = -adv.discriminator_bce(real_logits, fake_logits)
        results.append((real_logits, fake_logits, torch.autograd.grad(loss, g_params)))
    (r1, f1, g1), (r2, f2, g2) = results
    torch.testing.assert_close(r1, r2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(f1, f2, rtol=1e-12, atol=1e-12)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
