import io
import math

import torch
from torch import nn

from aegan.nets.autoencoder import AutoencoderDiscriminator
from aegan.train import Trainer
from tests.conftest import tiny_config
from tests.methods.baseline_helpers import Affine, batch, method


def test_began_k_update_rule_and_clipping():
    m = method("began", gamma=0.5, lambda_k=0.1)
    d = AutoencoderDiscriminator(nn.Identity(), Affine(scale=0.0))  # L(v) = mean |v|
    nets = {"discriminator": d}
    b = batch([2.0, 2.0])  # L(x) = 2
    scratch = {"fake": torch.full((1, 2), 0.5)}  # L(G(z)) = 0.5
    terms = m.discriminator_terms(nets, b, scratch)
    torch.testing.assert_close(terms["equilibrium"], torch.tensor(2.0))  # k_0 = 0
    m.generator_terms(nets, b, scratch)
    torch.testing.assert_close(scratch["diagnostics"]["convergence"], torch.tensor(2.0 + 0.5))
    m.update_k(nets)
    assert math.isclose(m.k, 0.1 * (0.5 * 2.0 - 0.5))
    m.k = 0.999
    m.discriminator_terms(nets, batch([100.0, 100.0]), scratch)
    m.generator_terms(nets, b, scratch)
    m.update_k(nets)
    assert m.k == 1.0
    m.discriminator_terms(nets, batch([0.0, 0.0]), {"fake": torch.full((1, 2), 100.0)})
    m.generator_terms(nets, b, {"fake": torch.full((1, 2), 100.0)})
    m.update_k(nets)
    assert m.k == 0.0


def test_began_k_is_plain_float_state_that_loads_weights_only(tmp_path):
    trainer = Trainer(tiny_config(**{"method.name": "began", "method.lambda_k": 0.5}), tmp_path)
    for _ in range(3):
        trainer.train_step()
    state = trainer.method.state_dict()
    assert isinstance(state["k"], float) and state["k"] > 0
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    fresh = method("began")
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    assert fresh.k == state["k"]
