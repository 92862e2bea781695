"""gan_ae_decay: the two stages, alpha_L = min(alpha L, 1) detached, state round trip."""

import io

import torch
from torch.testing import assert_close

from aegan.methods import shared_terms as shared
from aegan.losses import adversarial as adv
from aegan.methods import METHODS
from tests.methods._helpers import batch_of, tiny_trainer


def test_stage_switch_exactly_at_threshold():
    decay = shared.AdaptiveDecay(alpha=8.0)  # 1/alpha = 0.125, exact in binary
    decay.observe(torch.tensor(0.125))
    assert decay.stage == 1, "error == 1/alpha is not < 1/alpha"
    assert decay.alpha_l == 0.0
    decay.observe(torch.tensor(0.125).nextafter(torch.tensor(0.0)))
    assert decay.stage == 2
    assert_close(decay.observe(torch.tensor(0.05)), torch.tensor(0.4))
    decay.observe(torch.tensor(0.5))
    assert decay.alpha_l == 1.0 and decay.stage == 2


def test_alpha_l_is_min_alpha_error_one_and_detached(tmp_path):
    trainer = tiny_trainer("gan_ae_decay", tmp_path, **{"method.alpha": 0.05, "method.generator_loss": "nonsaturating"})
    m, nets, batch = trainer.method, trainer.nets, batch_of(trainer)
    m.decay.stage = 2
    scratch = {}
    m.autoencoder_terms(nets, batch, scratch)
    error = scratch["recon_error"]
    alpha_l = scratch["alpha_l"]
    assert_close(alpha_l, torch.clamp(0.05 * error, max=1.0))
    assert 0.0 < float(alpha_l) < 1.0, "pick alpha so that the clamp is inactive"
    assert not alpha_l.requires_grad
    assert_close(scratch["diagnostics"]["alpha_l"], alpha_l)
    assert scratch["diagnostics"]["stage"].item() == 2
    # G's adversarial gradient is exactly alpha_L times the undecayed one: nothing flows through alpha_L
    terms = m.generator_terms(nets, batch, scratch)
    params = list(nets["generator"].parameters())
    grads = torch.autograd.grad(terms["adversarial"], params, retain_graph=True)
    plain = torch.autograd.grad(adv.bce_real(nets["discriminator"](scratch["recon"])), params)
    for g, p in zip(grads, plain):
        assert_close(g, alpha_l * p)


def test_default_is_algorithm_1_line_14_with_the_papers_alpha(tmp_path):
    """log(1 - alpha_L D(H(x))) with alpha_L a constant, alpha = 0.1, lambda = 100."""
    trainer = tiny_trainer("gan_ae_decay", tmp_path)
    m, nets, batch = trainer.method, trainer.nets, batch_of(trainer)
    assert (m.config.alpha, m.config.reconstruction_weight, m.config.generator_loss) == (0.1, 100.0, "minimax")
    m.decay.stage = 2
    scratch = {}
    m.autoencoder_terms(nets, batch, scratch)
    alpha_l = scratch["alpha_l"]
    terms = m.generator_terms(nets, batch, scratch)
    d = torch.sigmoid(nets["discriminator"](scratch["recon"]))
    expected = torch.log(1 - alpha_l * d).mean()
    assert_close(terms["adversarial"], expected)
    params = list(nets["generator"].parameters())
    for g, e in zip(torch.autograd.grad(terms["adversarial"], params, retain_graph=True),
                    torch.autograd.grad(expected, params)):
        assert_close(g, e)


def test_stage_one_has_no_adversarial_generator_update(tmp_path):
    trainer = tiny_trainer("gan_ae_decay", tmp_path)
    m = trainer.method
    assert [p.name for p in m.phases(0)] == ["autoencoder", "discriminator", "latent_discriminator"]
    m.decay.stage = 2
    assert "generator" in [p.name for p in m.phases(0)]


def test_training_logs_stage_and_switches(tmp_path):
    # alpha tiny: the threshold 1/alpha is huge, so stage 1 ends after the first step
    trainer = tiny_trainer("gan_ae_decay", tmp_path, **{"method.alpha": 1e-3})
    names, values = trainer.train_step()
    logged = dict(zip(names, values))
    assert logged["diag/stage"].item() == 1 and trainer.method.decay.stage == 2
    names, values = trainer.train_step()
    logged = dict(zip(names, values))
    assert logged["diag/stage"].item() == 2 and "loss/generator/adversarial" in logged
    assert_close(logged["diag/alpha_l"], torch.clamp(1e-3 * logged["diag/recon_error"], max=1.0))


def test_state_dict_round_trip_with_weights_only(tmp_path):
    cls = METHODS["gan_ae_decay"]
    method = cls(cls.Config(alpha=10.0), latent_dim=2)
    method.decay.observe(torch.tensor(0.01))
    method.decay.observe(torch.tensor(0.05))
    state = method.state_dict()
    assert state == {"stage": 2, "alpha_l": float(torch.tensor(0.5)), "switch_step": 1}
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    fresh = cls(cls.Config(alpha=10.0), latent_dim=2)
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    assert fresh.decay.stage == 2 and fresh.decay.alpha_l == state["alpha_l"] and fresh.decay.switch_step == 1
    assert [p.name for p in fresh.phases(0)] == [p.name for p in method.phases(0)]


def test_stage_one_reconstruction_is_unweighted(tmp_path):
    """Algorithm 1 line 6 (stage 1) minimises L; line 13 (stage 2) lambda L."""
    trainer = tiny_trainer("gan_ae_decay", tmp_path)
    m, nets, batch = trainer.method, trainer.nets, batch_of(trainer)
    terms = m.autoencoder_terms(nets, batch, scratch := {})
    assert_close(terms["reconstruction"], scratch["recon_error"])
    m.decay.stage = 2
    terms = m.autoencoder_terms(nets, batch, scratch := {})
    assert_close(terms["reconstruction"], 100.0 * scratch["recon_error"])


def test_l2_norm_reading_switches_stage_on_a_hand_worked_batch(tmp_path):
    """000 App. D: L is the l2 norm of each sample's error. Two 1x2x2 "images" of zeros and
    reconstructions of 3 and 6 in every pixel: per-sample norms sqrt(4 * 9) = 6 and 12, so
    (1/m) sum L = 9 < 1/alpha = 10 switches to stage 2, where the squared reading (mean of
    36 and 144 = 90) would not; then alpha_L = min(0.1 * 9, 1) = 0.9 < 1."""
    cls = METHODS["gan_ae_decay"]
    config = cls.Config()
    assert (config.distance, config.reduction, config.alpha) == ("l2", "sum", 0.1)
    x = torch.zeros(2, 1, 2, 2)
    x_hat = torch.stack([torch.full((1, 2, 2), 3.0), torch.full((1, 2, 2), 6.0)])
    error = config.reconstruction_error(x, x_hat)
    assert_close(error, torch.tensor(9.0))
    squared = cls.Config(distance="squared_l2").reconstruction_error(x, x_hat)
    assert_close(squared, torch.tensor(90.0))
    method = cls(config, latent_dim=2)
    method.decay.observe(squared, step=0)
    assert method.decay.stage == 1, "the squared reading stays in stage 1"
    method.decay.observe(error, step=4)
    assert method.decay.stage == 2 and method.decay.switch_step == 5
    assert_close(method.decay.observe(error, step=5), torch.tensor(0.9))
    final = method.final_metrics()
    assert (final["stage"], final["switch_step"]) == (2.0, 5.0) and abs(final["alpha_l"] - 0.9) < 1e-6


def test_run_metrics_carry_the_stage_and_switch_step(tmp_path):
    trainer = tiny_trainer("gan_ae_decay", tmp_path, **{"method.alpha": 1e-3, "train.steps": 3,
                                                        "eval.metrics": ["mixture"], "eval.n_samples": 64})
    result = trainer.fit(progress=False)
    assert result["metrics"]["method/stage"] == 2.0
    assert result["metrics"]["method/switch_step"] == 1.0, "stage 1 ends after step 0: step 1 is stage 2's first"
    assert 0.0 < result["metrics"]["method/alpha_l"] <= 1.0
    never = tiny_trainer("gan_ae_decay", tmp_path / "never", **{"method.alpha": 1e9, "method.distance": "l2",
                                                                  "train.steps": 2, "eval.metrics": ["mixture"],
                                                                  "eval.n_samples": 64})
    assert never.fit(progress=False)["metrics"]["method/switch_step"] is None
