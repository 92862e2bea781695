import torch
from torch.testing import assert_close

from tests.methods.baseline_helpers import Spy, batch, method


def test_lsgan_least_squares_on_raw_outputs():
    m = method("lsgan")
    d = Spy()  # D(v) = v_0 + v_1 (raw, no sigmoid)
    b = batch([1.0, 1.0], [0.5, 0.0])  # D: 2, 0.5
    scratch = {"fake": torch.tensor([[0.0, 0.0], [1.0, 2.0]])}  # D: 0, 3
    terms = m.discriminator_terms({"discriminator": d}, b, scratch)
    assert_close(terms["least_squares"], torch.tensor(0.5 * (1 + 0.25) / 2 + 0.5 * (0 + 9) / 2))
    g = m.generator_terms({"discriminator": d}, b, scratch)
    assert_close(g["adversarial"], torch.tensor(0.5 * (1 + 4) / 2))


def test_lsgan_targets_are_configurable():
    m = method("lsgan", a=-1.0, b=1.0, c=0.0)
    d = Spy()
    scratch = {"fake": torch.tensor([[0.0, 0.0]])}
    terms = m.discriminator_terms({"discriminator": d}, batch([1.0, 0.0]), scratch)
    assert_close(terms["least_squares"], torch.tensor(0.5))  # 0.5 (1-1)^2 + 0.5 (0+1)^2
    assert_close(m.generator_terms({"discriminator": d}, batch([1.0, 0.0]), scratch)["adversarial"], torch.tensor(0.0))
