"""compare's table cells: mean ± sample standard deviation (ddof 1) over seeds."""

from __future__ import annotations

import math

import pytest

from aegan.compare import STD_NOTE, Job, _cell, _mean_std, table


def test_mean_std_uses_the_sample_std_worked_by_hand():
    # [1, 3]: mean 2; sample variance ((1-2)^2 + (3-2)^2) / (2 - 1) = 2, std sqrt 2 = 1.414
    # (the population std, ddof 0, would be 1.000)
    assert _mean_std([1.0, 3.0], 3) == "2.000 ± 1.414"
    # [2, 4, 9]: mean 5; squared deviations 9 + 1 + 16 = 26, / 2 = 13, std sqrt 13 = 3.606
    # (ddof 0: sqrt(26 / 3) = 2.944)
    assert _mean_std([2.0, 4.0, 9.0], 3) == "5.000 ± 3.606"
    assert _mean_std([1.0, 3.0], ".2e") == "2.00e+00 ± 1.41e+00"
    assert _mean_std([5.0, 5.0], 2) == "5.00 ± 0.00"


def test_mean_std_with_one_seed_shows_the_value_alone():
    assert _mean_std([0.25], 2) == "0.25"
    assert _cell([7.0], 1) == "7.0"


def test_mean_std_leaves_out_and_counts_missing_values():
    assert _mean_std([1.0, None, 3.0, math.nan], 3) == "2.000 ± 1.414 (2 n/a)"
    assert _mean_std([1.0, math.inf], 2) == "1.00 (1 n/a)"  # one finite value: no ±
    assert _mean_std([None, math.nan], 2) == "n/a"
    assert _cell([0.5, 0.2, 0.9], 1, "min") == "0.2"  # the worst seed's column is not a mean


def _run(method: str, seed: int, modes: float, kl: float) -> dict:
    return {"method": method, "seed": seed, "step": 10, "protocol": {"name": "ring8"}, "time_per_step_ms": 2.0,
            "metrics": {"mixture/modes": modes, "mixture/high_quality": 0.5, "mixture/strict_modes": modes,
                        "mixture/kl": kl, "mixture/total_modes": 8.0}}


def test_table_cells_and_the_note_under_each_table():
    jobs = [Job("ring8.yaml", "gan", 0, "r/gan/seed0", ()), Job("ring8.yaml", "gan", 1, "r/gan/seed1", ()),
            Job("ring8.yaml", "nsgan", 0, "r/nsgan/seed0", ())]
    results = [_run("gan", 0, 6.0, 0.1), _run("gan", 1, 8.0, 0.3), _run("nsgan", 0, 8.0, 0.05)]
    text = table(jobs, results)
    lines = text.splitlines()
    gan = next(l for l in lines if l.startswith("| gan |"))
    nsgan = next(l for l in lines if l.startswith("| nsgan |"))
    # modes [6, 8]: 7.00 ± 1.41 (sample std sqrt 2; ddof 0 would print ± 1.00); KL [0.1, 0.3]: 0.200 ± 0.141
    assert gan.startswith("| gan | 2 | 7.00 ± 1.41 | 0.500 ± 0.000 | 0.500 | 7.00 ± 1.41 | 0.200 ± 0.141 | no |")
    assert nsgan.startswith("| nsgan | 1 | 8.00 | 0.500 | 0.500 | 8.00 | 0.050 | yes |")
    assert STD_NOTE in lines and "ddof 1" in STD_NOTE and "sample standard deviation" in STD_NOTE
    assert lines.index(STD_NOTE) > lines.index(nsgan)  # under the table


@pytest.mark.parametrize("values", [[1.0, 3.0], [0.1, 0.2, 0.7]])
def test_mean_std_agrees_with_the_statistics_module(values):
    import statistics

    assert _mean_std(values, 6) == f"{statistics.mean(values):.6f} ± {statistics.stdev(values):.6f}"
