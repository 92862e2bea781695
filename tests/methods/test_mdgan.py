"""mdgan: D1 separates x from G(E(x)); D2 treats G(E(x)) as real and G(z) as fake."""

import torch
from torch.testing import assert_close

from aegan.losses import adversarial as adv
from aegan.methods.base import Batch
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


class _Constant(torch.nn.Module):
    """A stand-in net: zeros shaped like its input (G) or a fixed logit per sample (D1)."""

    def __init__(self, logit: float | None = None):
        super().__init__()
        self.logit = logit

    def forward(self, x, source=None):
        return torch.zeros_like(x) if self.logit is None else torch.full((len(x), 1), self.logit)


def _manifold_terms_on_a_worked_batch(tmp_path, **overrides):
    """x = [[1, 2], [3, 0]], G(E(x)) = 0, D1 = sigmoid(0) = 1/2: d = mean(5, 9) = 7, -log D1 = log 2."""
    trainer = tiny_trainer("mdgan", tmp_path, **overrides)
    nets = {**trainer.nets, "generator": _Constant(), "discriminator": _Constant(logit=0.0)}
    batch = Batch(x=torch.tensor([[1.0, 2.0], [3.0, 0.0]]))
    scratch = {}
    trainer.method.manifold_discriminator_terms(nets, batch, scratch)
    return trainer.method.manifold_terms(nets, batch, scratch)


def test_app_a_puts_lambda_on_log_d1_and_sec_3_3_on_the_distance(tmp_path):
    """001 App. A step 3: d - lambda log D1 (the default); Sec. 3.3: lambda d - log D1."""
    log2 = torch.log(torch.tensor(2.0))
    app_a = _manifold_terms_on_a_worked_batch(tmp_path / "a", **{"method.manifold_weight": 0.1})
    assert_close(app_a["reconstruction"], torch.tensor(7.0))
    assert_close(app_a["adversarial"], 0.1 * log2)
    sec33 = _manifold_terms_on_a_worked_batch(tmp_path / "b", **{"method.manifold_weight": 10.0,
                                                                 "method.weight_on": "distance"})
    assert_close(sec33["reconstruction"], torch.tensor(70.0))
    assert_close(sec33["adversarial"], log2)
    # at the reciprocal lambda the two are one objective up to the factor 10
    assert_close(sum(sec33.values()), 10 * sum(app_a.values()))


def test_the_slides_encoder_line_lets_the_adversarial_term_reach_e(tmp_path):
    """004's E line: lambda1 d + lambda2 log D (sign towards "real"): E's gradient from the term."""
    trainer = tiny_trainer("mdgan", tmp_path, **{"method.encoder_loss": "manifold"})
    nets, batch, m = trainer.nets, batch_of(trainer), trainer.method
    scratch = {}
    m.manifold_discriminator_terms(nets, batch, scratch)
    terms = m.manifold_terms(nets, batch, scratch)
    e_params = list(nets["encoder"].parameters())
    e_grads = torch.autograd.grad(terms["adversarial"], e_params, retain_graph=True)
    assert any(g.abs().sum() > 0 for g in e_grads)
    recon = nets["generator"](nets["encoder"](batch.x), source="encoder")
    assert_close(terms["adversarial"], 0.1 * adv.generator_nonsaturating(nets["discriminator"](recon)))
    before = torch.sigmoid(nets["discriminator"](recon)).mean().item()
    sgd_step(terms["adversarial"], e_params, lr=0.5)  # E alone moves G(E(x)) towards "real"
    after = torch.sigmoid(nets["discriminator"](nets["generator"](nets["encoder"](batch.x), source="encoder"))).mean()
    assert after.item() > before


def test_both_variants_run_a_whole_step(tmp_path):
    """Sec. 3.3's form and the slides' E line keep the contract: each phase moves its nets only."""
    from tests.methods._helpers import check_one_step

    for label, overrides in (("sec33", {"method.weight_on": "distance", "method.manifold_weight": 10.0}),
                             ("slides", {"method.encoder_loss": "manifold"})):
        phases = check_one_step(tiny_trainer("mdgan", tmp_path / label, **overrides), f"mdgan_{label}")
        assert [p.name for p in phases][1] == "manifold"
