"""compare's table cells: the mean over seeds with its 95 % interval (Student t on the sample std, ddof 1)."""

from __future__ import annotations

import math

import pytest

from aegan.results.cells import INTERVAL_NOTES, _cell, _mean_interval, table

from aegan.results.rows import Job


def test_mean_cells_show_the_t_interval_worked_by_hand():
    # [1, 3]: mean 2; sample variance ((1-2)^2 + (3-2)^2) / (2 - 1) = 2, s = sqrt 2, s / sqrt n = 1;
    # t_{0.975, 1 df} = tan(pi (0.975 - 1/2)) = 12.706 (the Cauchy quantile): 2 ± 12.706
    # (with the population std, ddof 0, s / sqrt n would be 0.707 and the interval [-6.98, 10.98])
    half = math.tan(math.pi * 0.475) * math.sqrt(2) / math.sqrt(2)
    assert _mean_interval([1.0, 3.0], 3) == f"2.000 [{2 - half:.3f}, {2 + half:.3f}]" == "2.000 [-10.706, 14.706]"
    # [2, 4, 9]: mean 5; squared deviations 9 + 1 + 16 = 26, / 2 = 13, s / sqrt n = sqrt(13 / 3) = 2.082;
    # t_{0.975, 2 df} = (2p - 1) / sqrt(2 p (1 - p)) at p = 0.975 = 4.303: 5 ± 8.957
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) * math.sqrt(13 / 3)
    assert _mean_interval([2.0, 4.0, 9.0], 3) == f"5.000 [{5 - half:.3f}, {5 + half:.3f}]" == "5.000 [-3.957, 13.957]"
    assert _mean_interval([1.0, 3.0], ".2e") == "2.00e+00 [-1.07e+01, 1.47e+01]"
    assert _mean_interval([5.0, 5.0], 2) == "5.00 [5.00, 5.00]"
    # the bootstrap percentile interval of two seeds: resampled means 1, 2 or 3 (1/4, 1/2, 1/4): [1, 3]
    assert _mean_interval([1.0, 3.0], 2, "bootstrap") == "2.00 [1.00, 3.00]"


def test_a_mean_cell_with_one_seed_shows_the_value_and_says_so():
    assert _mean_interval([0.25], 2) == "0.25 (1 seed)"
    assert _cell([7.0], 1) == "7.0 (1 seed)"


def test_mean_cells_leave_out_and_count_missing_values():
    assert _mean_interval([1.0, None, 3.0, math.nan], 3) == "2.000 [-10.706, 14.706] (2 n/a)"
    assert _mean_interval([1.0, math.inf], 2) == "1.00 (1 seed, 1 n/a)"  # one finite value: no interval
    assert _mean_interval([None, math.nan], 2) == "n/a"
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
    # modes [6, 8]: mean 7, s / sqrt n = sqrt 2 / sqrt 2 = 1, t_{0.975, 1} = 12.706: [-5.71, 19.71]
    # (ddof 0 would print [-1.98, 15.98]); KL [0.1, 0.3]: 0.2 ± 12.706 x 0.1 = [-1.071, 1.471]
    assert gan.startswith("| gan | 2 | 7.00 [-5.71, 19.71] | 0.500 [0.500, 0.500] | 0.500 | 7.00 [-5.71, 19.71] | "
                          "0.200 [-1.071, 1.471] | no |")
    assert nsgan.startswith("| nsgan | 1 | 8.00 (1 seed) | 0.500 (1 seed) | 0.500 | 8.00 (1 seed) | 0.050 (1 seed) "
                            "| yes |")
    note = INTERVAL_NOTES["t"]
    assert note in lines and "ddof 1" in note and "Student t" in note
    assert lines.index(note) > lines.index(nsgan)  # under the table
    assert INTERVAL_NOTES["bootstrap"] in table(jobs, results, interval="bootstrap").splitlines()


@pytest.mark.parametrize("values", [[1.0, 3.0], [0.1, 0.2, 0.7]])
def test_mean_cells_agree_with_the_statistics_module(values):
    import statistics

    from scipy.stats import t

    half = t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    mean = statistics.mean(values)
    assert _mean_interval(values, 6) == f"{mean:.6f} [{mean - half:.6f}, {mean + half:.6f}]"
