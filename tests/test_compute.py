"""Compute beside every score (aegan.results.compute): G/D/E updates, training seconds and FLOPs per
step as table columns, worked by hand; and the budget curves of the report (aegan.results.budget)."""

from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest
import torch
import yaml

from aegan.results import compute
from aegan.config import build_config
from aegan.results.records import COMPUTE_METRICS, LOWER_IS_BETTER, canonical_hash, protocol_of, row_identity
from tests.conftest import TINY, tiny_raw

B, LATENT, HIDDEN = 32, 3, 16  # TINY's batch; a 3-dim code so that no two sizes coincide


def _linear(n_in: int, n_out: int, rows: int) -> int:
    """A Linear layer's forward: a (rows x n_in) @ (n_in x n_out) product, 2 FLOPs per multiply-add
    (the bias add is elementwise: not counted). Its backward is one such product per gradient
    it computes: d input and d weight, 2x the forward when both are needed."""
    return 2 * rows * n_in * n_out


def _nsgan_step_by_hand(generator_steps: int = 1) -> int:
    """One NS-GAN step on ring8 (2D) with depth-1 MLPs: G = Linear(3, 16), ReLU, Linear(16, 2);
    D = Linear(2, 16), act, Linear(16, 1). Backward computes only what reaches the phase's nets."""
    g_forward = _linear(LATENT, HIDDEN, B) + _linear(HIDDEN, 2, B)
    # D phase: G(z) (kept for the G phase), D on the 2B real and fake rows, backward into D:
    # the head needs d weight and d input (to reach the first layer), the first layer d weight only
    d_phase = (g_forward + _linear(2, HIDDEN, 2 * B) + _linear(HIDDEN, 1, 2 * B)
               + 2 * _linear(HIDDEN, 1, 2 * B) + _linear(2, HIDDEN, 2 * B))
    # G phase: D on the step's G(z) (not recomputed), backward into G through D: D's layers d
    # input only (D is not updated), G's head d input and d weight, G's first layer d weight only
    g_phase = (_linear(2, HIDDEN, B) + _linear(HIDDEN, 1, B) + _linear(HIDDEN, 1, B) + _linear(2, HIDDEN, B)
               + 2 * _linear(HIDDEN, 2, B) + _linear(LATENT, HIDDEN, B))
    # each repeated G phase draws a fresh z: G's forward again, then the same G phase
    return d_phase + g_phase + (generator_steps - 1) * (g_forward + g_phase)


def _tiny(**overrides) -> dict:
    raw = tiny_raw(**{"model.depth": 1, "model.hidden": HIDDEN, "model.latent_dim": LATENT, **overrides})
    return build_config(raw).to_dict()


def _record(config: dict, **fields) -> dict:
    """A hand-made record of ``config``: what add_compute reads."""
    return {"benchmark": "tiny", "label": config["method"]["name"], "status": "ok", "step": config["train"]["steps"],
            "config": config, "point": {}, "metrics": {}, "train_seconds": 12.5, "data_protocol": {},
            "protocol_hash": canonical_hash(protocol_of(config, {})), "row_hash": row_identity(config, {}),
            "training": {"generator": {"updates_per_step": 1.0}, "discriminator": {"updates_per_step": 1.0}}, **fields}


@pytest.fixture(autouse=True)
def _fresh_counts():
    compute._COUNTS.clear()
    yield
    compute._COUNTS.clear()


def test_a_tiny_nsgan_step_counts_the_flops_of_its_matrix_products_by_hand():
    count = compute.step_flops(_tiny(), (2,))
    assert _nsgan_step_by_hand() == 32768  # the worked example, so a change of the helper shows here too
    assert count.flops == _nsgan_step_by_hand()
    assert count.updates == {"discriminator": 1, "generator": 1}
    twice = compute.step_flops(_tiny(**{"method.generator_steps": 2}), (2,))  # an update doubled: its work too
    assert twice.flops == _nsgan_step_by_hand(generator_steps=2) == 32768 + 18432
    assert twice.updates == {"discriminator": 1, "generator": 2}


def test_counting_changes_no_global_state(tmp_path):
    def draws():
        return torch.rand(2).tolist(), np.random.rand(), random.random()

    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    torch.set_num_threads(1)
    expected = draws()
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    compute.add_compute([(tmp_path / "tiny/nsgan/seed0.json", _record(_tiny()))])  # builds nets, seeds, trains
    assert draws() == expected
    assert torch.get_num_threads() == 1


def test_the_compute_metrics_of_a_hand_made_record_with_two_generator_steps(tmp_path):
    config = _tiny(**{"method.generator_steps": 2, "train.steps": 1000})
    # a run that updated G twice per step and D once (training: the loop's optimiser steps / steps)
    record = _record(config, training={"generator": {"updates_per_step": 2.0}, "discriminator": {"updates_per_step": 1.0}})
    notes = compute.add_compute([(tmp_path / "tiny/nsgan/seed0.json", record)])
    assert notes == []
    metrics = record["metrics"]
    assert metrics["compute/g_updates"] == 2000 and metrics["compute/d_updates"] == 1000
    assert metrics["compute/e_updates"] == 0 and metrics["compute/train_seconds"] == 12.5
    assert metrics["compute/gflops_per_step"] == pytest.approx(_nsgan_step_by_hand(generator_steps=2) / 1e9)
    # every discriminator net counts as D (MDGAN's two), the encoder apart; a diverged run's steps
    mdgan = {"generator": {"updates_per_step": 2.0}, "discriminator": {"updates_per_step": 1.0},
             "discriminator2": {"updates_per_step": 1.0}, "encoder": {"updates_per_step": 1.0}}
    assert compute.update_totals({"training": mdgan, "step": 7}) == {
        "compute/g_updates": 14.0, "compute/d_updates": 14.0, "compute/e_updates": 7.0}
    assert compute.update_totals({"step": 7}) == {}  # a record made before `training` was recorded


def test_costs_are_lower_is_better():
    assert set(COMPUTE_METRICS) <= LOWER_IS_BETTER


def test_what_cannot_be_counted_is_na_with_a_reason_and_a_changing_schedule_is_noted(tmp_path):
    broken = _record(_tiny())
    broken["config"] = {**broken["config"], "method": {"name": "no_such_method"}}
    broken["label"], broken["row_hash"] = "broken", "x" * 64
    old = _record(_tiny(), label="old", training={})  # a record made before `training` was recorded
    old_decay = _record(_tiny(**{"method.name": "gan_ae_decay"}), label="old_decay", training={})
    decay = _record(_tiny(**{"method.name": "gan_ae_decay"}), label="gan_ae_decay",
                    training={"generator": {"updates_per_step": 1.5}, "encoder": {"updates_per_step": 1.0},
                              "discriminator": {"updates_per_step": 1.0},
                              "latent_discriminator": {"updates_per_step": 1.0}})
    diverged = _record(_tiny(), label="hot", status="diverged")
    rows = (broken, old, old_decay, decay, diverged)
    notes = compute.add_compute([(tmp_path / f"tiny/{r['label']}/s.json", r) for r in rows])
    assert "compute/gflops_per_step" not in broken["metrics"]
    assert any(n.startswith("broken: FLOPs per step n/a (") and "no_such_method" in n for n in notes)
    # without `training`: a fixed schedule's updates come from the counted step (1 G, 1 D per
    # step of NS-GAN, x its steps); GAN+AE+alpha_L's schedule changes over a run: n/a
    steps = old["step"]
    assert (old["metrics"]["compute/g_updates"], old["metrics"]["compute/d_updates"]) == (steps, steps)
    assert old["metrics"]["compute/e_updates"] == 0 and old["metrics"]["compute/gflops_per_step"] > 0
    assert "G, D and E updates of old: one counted step's optimiser steps x the steps run" in " ".join(notes)
    assert "G, D and E updates n/a for old_decay: their records predate" in " ".join(notes)
    assert "compute/g_updates" not in old_decay["metrics"]
    # gan_ae_decay starts in stage 1 (G updated with E only): 1 G update counted, 1.5 over the run
    assert any(n.startswith("gan_ae_decay: FLOPs per step counted on the first step") and "generator 1 in the first "
               "step, 1.5 per step over the run" in n for n in notes)
    assert diverged["metrics"] == {}  # no scores, no compute: the columns cover the seeds the scores do


def test_a_gradient_penalty_is_counted_too():
    """torch's module tracker breaks autograd.grad(create_graph=True) (pytorch/pytorch#131753);
    the count goes without it."""
    nsgan = compute.step_flops(_tiny(), (2,))
    dragan = compute.step_flops(_tiny(**{"method.name": "dragan"}), (2,))
    assert dragan.flops > nsgan.flops  # the penalty's double backward through D


def test_counts_are_cached_beside_the_records_and_read_back(tmp_path, monkeypatch):
    path = tmp_path / "records" / "tiny" / "nsgan" / "seed0-abc.json"
    record = _record(_tiny())
    compute.add_compute([(path, record)])
    cache = tmp_path / "records" / "tiny" / compute.CACHE_FILE
    first = cache.read_bytes()
    entry = json.loads(first)[compute.row_key(record)]
    assert entry == {"label": "nsgan", "flops": _nsgan_step_by_hand(),
                     "first_step_updates": {"discriminator": 1, "generator": 1}}
    compute._COUNTS.clear()

    def no_count(*args, **kwargs):
        raise AssertionError("counted again")

    monkeypatch.setattr(compute, "step_flops", no_count)
    again = _record(_tiny())
    assert compute.add_compute([(path, again)]) == []
    assert again["metrics"]["compute/gflops_per_step"] == _nsgan_step_by_hand() / 1e9
    assert cache.read_bytes() == first  # unchanged, byte for byte


def test_the_data_shape_comes_from_the_record_without_data_files():
    assert compute.data_shape({"data_shape": [3, 28, 28], "config": {}}) == (3, 28, 28)
    assert compute.data_shape({"data_protocol": {"shape": [1, 28, 84]}, "config": {}}) == (1, 28, 84)
    assert compute.data_shape({"config": {"data": {"name": "fashion_mnist"}}}) == (1, 28, 28)
    assert compute.data_shape({"config": {"data": {"name": "cifar10", "resolution": 32}}}) == (3, 32, 32)
    assert compute.data_shape({"config": _tiny()}) == (2,)  # a 2D mixture is built (no files)


def _compare(tmp_path, *args, **extra):
    from aegan.cli import main

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "data": {"name": "ring8", "std": 0.3}, **extra}))
    out, records = tmp_path / "out", tmp_path / "records"
    assert main(["compare", str(config), "--workers", "1", "--no-progress", "--out", str(out), "--records",
                 str(records), *args]) == 0
    return out, records


def test_the_tables_of_records_show_the_compute_of_each_row(tmp_path):
    from aegan.results.tables import tables_markdown

    _, records = _compare(tmp_path, "--methods", "nsgan,nsgan_2g", "--seeds", "2",
                          methods={"nsgan_2g": {"name": "nsgan", "generator_steps": 2}})
    text, _ = tables_markdown([records])
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[-7:-2] == ["G updates", "D updates", "training seconds", "training CPU seconds",
                              "GFLOPs per step"]  # no encoder: no E
    rows_table = text.split("vs baseline", 1)[0]  # the rows' table (the tests against the baseline follow it)
    row = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
           for line in rows_table.splitlines() if line.startswith("| nsgan")}
    at = {name: columns.index(name) for name in columns}
    # cost columns are plain means over seeds (no interval, no test against the baseline)
    assert row["nsgan"][at["G updates"]] == "6" and row["nsgan_2g"][at["G updates"]] == "12"
    assert row["nsgan"][at["D updates"]] == row["nsgan_2g"][at["D updates"]] == "6"
    flops = lambda label: float(row[label][at["GFLOPs per step"]])  # noqa: E731
    assert flops("nsgan_2g") > flops("nsgan") > 0  # the doubled update costs FLOPs
    assert re.fullmatch(r"\d+", row["nsgan"][at["training seconds"]])  # training seconds: the seeds' mean
    assert re.fullmatch(r"\d+", row["nsgan"][at["training CPU seconds"]])
    vs_baseline = text.split("vs baseline nsgan", 1)[1]
    assert "G updates" not in vs_baseline and "seconds" not in vs_baseline  # costs are not tested
    assert (records / "tiny" / compute.CACHE_FILE).is_file()


def test_best_so_far_on_a_hand_made_history():
    from aegan.results.budget import best_so_far

    assert best_so_far([5.0, 3.0, 4.0, None, 2.0], lower_is_better=True).tolist() == [5, 3, 3, 3, 2]
    assert best_so_far([5.0, 3.0, 6.0, float("nan"), 2.0], lower_is_better=False).tolist() == [5, 5, 6, 6, 6]
    assert np.isnan(best_so_far([None, 1.0], lower_is_better=True)[0])


def test_a_seeds_budget_curve_against_steps_and_seconds():
    from aegan.results.budget import seed_curve

    record = {"status": "ok", "step": 30, "train_seconds": 3.0, "time_per_step_ms": 200.0,
              "metrics": {"fid/fid": 45.0},
              "eval_history": {"step": [10, 20], "fid/fid": [50.0, 40.0], "time/train_seconds": [1.0, 2.0]}}
    curve = seed_curve(record, "fid/fid")
    assert curve["step"].tolist() == [10, 20, 30] and curve["best"].tolist() == [50, 40, 40]  # FID: lower is better
    assert curve["seconds"].tolist() == [1.0, 2.0, 3.0] and not curve["approximate_seconds"]
    old = {**record, "eval_history": {"step": [10, 20], "fid/fid": [50.0, 40.0]}}  # before per-eval seconds
    curve = seed_curve(old, "fid/fid")
    assert curve["seconds"].tolist() == [2.0, 4.0, 6.0] and curve["approximate_seconds"]  # step x 200 ms
    assert seed_curve({**record, "eval_history": {"step": []}}, "fid/fid") is None


def test_the_budget_band_is_a_student_t_interval_over_seeds():
    from aegan.results.budget import held, row_band

    # three seeds' best so far at the same steps; at step 20: 1, 2, 3 -> mean 2, s = 1, n = 3,
    # t_{0.975, 2} = 4.3027 (a t table), half width 4.3027 / sqrt(3) = 2.4841
    curves = [{"step": np.array([10.0, 20.0]), "best": np.array([4.0, v])} for v in (1.0, 2.0, 3.0)]
    x, mean, low, high = row_band(curves, "step")
    assert x.tolist() == [10, 20] and mean.tolist() == [4, 2]
    assert (low[0], high[0]) == (4, 4)  # no spread at step 10
    assert high[1] - mean[1] == pytest.approx(2.4841, abs=1e-4) and mean[1] - low[1] == pytest.approx(2.4841, abs=1e-4)
    # a seed holds its best after its last point and has none before its first
    assert held(np.array([5.0, 10.0, 15.0, 99.0]), np.array([10.0, 20.0]), np.array([4.0, 1.0])).tolist()[1:] == [4, 4, 1]
    assert math.isnan(held(np.array([5.0]), np.array([10.0]), np.array([4.0]))[0])
    one = row_band(curves[:1], "step")
    assert one[2].tolist() == one[3].tolist() == [4, 1]  # one seed: no interval


def test_the_report_draws_the_budget_curves_and_shows_the_compute(tmp_path):
    from aegan.cli import main

    out, records = _compare(tmp_path, "--methods", "nsgan,gan_ae", "--seeds", "2", "--eval.every=2",
                            "--eval.every_n_samples=100")
    report = tmp_path / "report.html"
    assert main(["report", str(records), "--out", str(report)]) == 0
    html = report.read_text()
    assert "<h3>Budget curves</h3>" in html
    budget = html[html.index("<h3>Budget curves</h3>"):html.index("<h3>Diverged runs</h3>")]
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', budget)
    assert len(images) == 1 and "95 % Student-t interval" in budget
    results = html[html.index("<h3>Results</h3>"):html.index("<h3>Per seed</h3>")]
    assert all(f"<th>{c}</th>" in results for c in ("G updates", "D updates", "E updates", "GFLOPs per step"))
    from aegan.results.budget import budget_panels
    from aegan.results.cells import columns_for
    from aegan.results.tables import as_results, build_tables

    table = build_tables([records])[0][0]
    panels = budget_panels(table.rows(), columns_for(as_results(table)[1]))
    titles = [(title, xlabel) for title, xlabel, _ in panels]
    assert ("best modes so far (highest)", "step") in titles
    assert ("best KL so far (lowest)", "training seconds") in titles  # the runs logged their seconds
    (tmp_path / "plain").mkdir()
    _, plain = _compare(tmp_path / "plain", "--methods", "nsgan", "--seeds", "1")
    assert main(["report", str(plain), "--out", str(tmp_path / "plain.html")]) == 0
    assert "<h3>Budget curves</h3>" not in (tmp_path / "plain.html").read_text()  # nothing evaluated during training
