import torch

from tests.methods.baseline_helpers import method


def test_gmmn_loss_zero_for_identical_batches_and_positive_otherwise():
    m = method("gmmn")
    assert m.nets == ("generator",)
    from aegan.methods.base import Batch

    x = torch.randn(64, 2)
    same = m.generator_terms({}, Batch(x), {"fake": x.clone()})["mmd"]
    assert same.item() < 1e-5
    other = m.generator_terms({}, Batch(x), {"fake": x + 1.0})["mmd"]
    assert other.item() > 0.1
