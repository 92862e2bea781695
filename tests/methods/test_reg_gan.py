"""reg_gan: the mode term's sign pushes G(E(x)) towards "real"; the geometric term is d(x, G(E(x)))."""

import torch
from torch.testing import assert_close

from tests.methods._helpers import batch_of, sgd_step, tiny_trainer


def test_mode_term_raises_d_of_reconstructions(tmp_path):
    trainer = tiny_trainer("reg_gan", tmp_path)
    nets, batch = trainer.nets, batch_of(trainer)
    d = nets["discriminator"]

    def d_on_recon():
        return torch.sigmoid(d(nets["generator"](nets["encoder"](batch.x), source="encoder"))).mean()

    before = d_on_recon().item()
    terms = trainer.method.generator_terms(nets, batch, {})
    params = list(nets["generator"].parameters()) + list(nets["encoder"].parameters())
    sgd_step(terms["mode"], params, lr=0.1)
    assert d_on_recon().item() > before


def test_terms_closed_form(tmp_path):
    trainer = tiny_trainer("reg_gan", tmp_path, **{"method.geometric_weight": 2.0, "method.mode_weight": 0.3})
    nets, batch = trainer.nets, batch_of(trainer)
    terms = trainer.method.generator_terms(nets, batch, {})
    recon = nets["generator"](nets["encoder"](batch.x))
    assert_close(terms["geometric"], 2.0 * (batch.x - recon).pow(2).sum(1).mean())
    assert_close(terms["mode"], 0.3 * -torch.log(torch.sigmoid(nets["discriminator"](recon))).mean())
    assert [p.updates for p in trainer.method.phases(0)] == [("discriminator",), ("generator", "encoder")]
