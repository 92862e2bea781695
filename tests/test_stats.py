"""The statistics of a table's seeds (aegan.results.stats), worked by hand: the t interval of a mean,
Welch's test and interval (Welch-Satterthwaite df), Holm's adjustment, the seeds a difference
needs, and one table built from records whose cells carry those numbers.

The t distribution is computed here from its density with math alone (Simpson's rule), not
with scipy, so the tests check aegan's use of scipy against the formulas."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from aegan.results.stats import (bootstrap_interval, difference, direction, holm, row_seeds_needed, seeds_needed,
                         t_interval, welch_df, welch_power)


def t_mass(x: float, nu: float, steps: int = 4000) -> float:
    """P(0 < T < x) for Student's t with nu degrees of freedom: Simpson's rule on its density
    Gamma((nu+1)/2) / (sqrt(nu pi) Gamma(nu/2)) (1 + t^2/nu)^(-(nu+1)/2)."""
    c = math.gamma((nu + 1) / 2) / (math.sqrt(nu * math.pi) * math.gamma(nu / 2))
    f = lambda t: c * (1 + t * t / nu) ** (-(nu + 1) / 2)  # noqa: E731
    h = x / steps
    return h / 3 * (f(0) + f(x) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, steps)))


def two_sided_p(t: float, nu: float) -> float:
    return 1 - 2 * t_mass(abs(t), nu)


def t_quantile_975(nu: float) -> float:
    """t_{0.975, nu}: the x with P(0 < T < x) = 0.475, by bisection."""
    low, high = 0.0, 100.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if t_mass(mid, nu) < 0.475 else (low, mid)
    return (low + high) / 2


def test_the_hand_t_distribution_matches_its_closed_forms():
    # 1 df is the Cauchy distribution: t_{0.975} = tan(0.475 pi); 2 df: (2p - 1) / sqrt(2 p (1 - p))
    assert t_quantile_975(1) == pytest.approx(math.tan(0.475 * math.pi), rel=1e-6)
    assert t_quantile_975(2) == pytest.approx(0.95 / math.sqrt(2 * 0.975 * 0.025), rel=1e-9)
    assert two_sided_p(1.0, 1) == pytest.approx(0.5, rel=1e-9)  # 1 - 2 atan(1) / pi


# The worked example: a row's seeds [5, 7, 12] against the baseline's [1, 2, 3].
ROW, BASE = [5.0, 7.0, 12.0], [1.0, 2.0, 3.0]
# means 8 and 2: the difference 6
# sample variances (ddof 1): ((-3)^2 + (-1)^2 + 4^2) / 2 = 13 and ((-1)^2 + 0 + 1^2) / 2 = 1
# variances of the means: v1 = 13 / 3, v2 = 1 / 3; standard error sqrt(14 / 3) = 2.160
# Welch t = 6 / sqrt(14 / 3) = 2.777
# Welch-Satterthwaite df = (v1 + v2)^2 / (v1^2 / 2 + v2^2 / 2) = (196 / 9) / (170 / 18) = 392 / 170 = 2.306
#   (a pooled-variance t-test would have n1 + n2 - 2 = 4 df)
SE = math.sqrt(13 / 3 + 1 / 3)
DF = 392 / 170
T = 6 / SE


def test_the_t_interval_of_a_mean_worked_by_hand():
    # [1, 2, 3]: mean 2, s = 1, s / sqrt 3 = 0.577; t_{0.975, 2} = 4.303 (closed form): 2 ± 2.484
    q2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    low, high = t_interval(BASE)
    assert (low, high) == pytest.approx((2 - q2 / math.sqrt(3), 2 + q2 / math.sqrt(3)), rel=1e-12)
    assert (round(low, 3), round(high, 3)) == (-0.484, 4.484)
    # [5, 7, 12]: mean 8, s / sqrt 3 = sqrt(13 / 3); with ddof 0 the half-width would be 4.303 sqrt(26 / 9)
    assert t_interval(ROW) == pytest.approx((8 - q2 * math.sqrt(13 / 3), 8 + q2 * math.sqrt(13 / 3)), rel=1e-12)
    assert t_interval([4.0]) is None and t_interval([4.0, math.nan, None]) is None  # one seed: no interval


def test_welch_difference_interval_and_p_worked_by_hand():
    d = difference(ROW, BASE)
    assert d.diff == 6.0
    assert d.df == pytest.approx(DF, rel=1e-12) and welch_df(np.array(ROW), np.array(BASE)) == pytest.approx(DF)
    assert d.p == pytest.approx(two_sided_p(T, DF), rel=1e-6)
    assert round(d.p, 4) == 0.0930
    half = t_quantile_975(DF) * SE
    assert (d.low, d.high) == pytest.approx((6 - half, 6 + half), rel=1e-6)
    # with the pooled df (4) or a variance of ddof 0 the numbers would differ:
    assert abs(d.p - two_sided_p(T, 4)) > 0.02
    assert abs(d.p - two_sided_p(6 / math.sqrt(26 / 9 + 2 / 9), DF)) > 0.01
    reverse = difference(BASE, ROW)
    assert (reverse.diff, reverse.p) == (-6.0, pytest.approx(d.p))


def test_a_test_needs_two_seeds_and_some_spread():
    assert difference([4.0], BASE).reason == "n < 2" and difference([4.0], BASE).p is None
    assert difference([4.0], BASE).diff == 2.0
    same = difference([8.0, 8.0], [7.0, 7.0])
    assert (same.diff, same.p, same.reason) == (1.0, None, "no spread")
    assert difference([math.nan], BASE).diff is None  # a diverged row: no value


def test_mann_whitney_is_an_option_with_its_exact_p():
    # [5, 7, 12] against [1, 2, 3]: every row value is above every baseline value, U = 9; of the
    # C(6, 3) = 20 equally likely rankings one gives U = 9 and one U = 0: two-sided p = 2 / 20
    d = difference(ROW, BASE, test="mannwhitney")
    assert d.p == pytest.approx(0.1) and d.diff == 6.0 and d.df == pytest.approx(DF)


def test_the_bootstrap_interval_stays_within_the_seeds_range():
    low, high = bootstrap_interval(ROW)
    assert 5.0 <= low < 8.0 < high <= 12.0
    assert bootstrap_interval(ROW) == (low, high)  # seeded: the same on every call
    assert bootstrap_interval([1.0, 3.0]) == (1.0, 3.0)  # means 1, 2, 3 with probabilities 1/4, 1/2, 1/4
    d = difference(ROW, BASE, interval="bootstrap")
    assert 5.0 - 3.0 <= d.low < 6.0 < d.high <= 12.0 - 1.0 and d.p == pytest.approx(difference(ROW, BASE).p)


def test_holm_steps_down_in_order_and_differs_from_bonferroni():
    raw = [0.02, None, 0.01, 0.04]  # m = 3 tested rows (None: a row with one seed)
    # sorted: 0.01 x 3 = 0.03; 0.02 x 2 = 0.04; 0.04 x 1 = 0.04 (running max 0.04)
    assert holm(raw) == pytest.approx([0.04, None, 0.03, 0.04])
    bonferroni = [None if p is None else min(1, 3 * p) for p in raw]  # [0.06, -, 0.03, 0.12]
    significant = lambda ps: [p is not None and p < 0.05 for p in ps]  # noqa: E731
    assert significant(holm(raw)) == [True, False, True, True]
    assert significant(bonferroni) == [False, False, True, False]
    assert significant(raw) == significant(holm(raw)) and holm(raw) != raw
    # monotone: 0.011 x 2 = 0.022 < 0.01 x 3 = 0.03, so it takes 0.03; capped at 1
    assert holm([0.011, 0.01, 0.5]) == pytest.approx([0.03, 0.03, 0.5])
    assert holm([0.6, 0.7]) == [1.0, 1.0] and holm([]) == [] and holm([None]) == [None]


def test_seeds_needed_match_cohens_table_and_the_normal_approximation():
    # equal spreads, d = delta / sd: the two-sample t-test needs 64, 26, 17 per group at d = 0.5,
    # 0.8, 1 (Cohen 1988, Table 2.4.1); the normal approximation 2 (z_0.975 + z_0.8)^2 / d^2 is a
    # little below: 62.8, 24.5, 15.7
    assert [seeds_needed(1.0, 1.0, d) for d in (0.5, 0.8, 1.0)] == [64, 26, 17]
    assert seeds_needed(10.0, 10.0, 10.0) == 17  # only delta / sd matters
    assert welch_power(16, 1.0, 1.0, 1.0) < 0.8 <= welch_power(17, 1.0, 1.0, 1.0)
    # unequal spreads 2 and 1: (4 + 1)(1.960 + 0.842)^2 / 1 = 39.2 by the normal approximation
    n = seeds_needed(2.0, 1.0, 1.0)
    assert 39 < n <= 42 and welch_power(n - 1, 2.0, 1.0, 1.0) < 0.8
    assert seeds_needed(0.0, 0.0, 1.0) == 2
    # from seeds: the sample std (ddof 1) of [1, 3] and [2, 4] is sqrt 2 each; d = 2 / sqrt 2
    assert row_seeds_needed([1.0, 3.0], [2.0, 4.0], 2.0) == (seeds_needed(math.sqrt(2), math.sqrt(2), 2.0), "")
    assert row_seeds_needed([1.0], [2.0, 4.0], 2.0)[0] == seeds_needed(math.sqrt(2), math.sqrt(2), 2.0)
    assert row_seeds_needed([1.0], [2.0], 2.0) == (None, "n < 2")


def test_directions():
    assert direction("mnist_modes/modes") == 1 and direction("fid/fid") == -1 and direction("best/fid/fid") == -1
    assert direction("third_party_fast/sigma0.5/missed_modes") == -1 and direction("dynamics/diag/d_fake/mean") == 0


# -- a table of records --------------------------------------------------------------------------
def _write_records(root, rows):
    """A records directory of one benchmark "toy": rows -> [(modes, kl), ...] one per seed."""
    bench = root / "toy"
    bench.mkdir(parents=True)
    (bench / "protocol.json").write_text(json.dumps({"protocol_hash": "h" * 64, "protocol": {"config": {}},
                                                     "rows": list(rows)}))
    for label, seeds in rows.items():
        (bench / label).mkdir()
        for seed, (modes, kl) in enumerate(seeds):
            record = {"kind": "aegan.run_record", "schema": 1, "benchmark": "toy", "label": label, "method": label,
                      "seed": seed, "point": {}, "status": "ok", "reason": None, "step": 10, "steps": 10,
                      "protocol_hash": "h" * 64, "row_hash": label, "config": {}, "data_protocol": {"name": "toy"},
                      "metrics": {"mnist_modes/modes": modes, "mnist_modes/kl": kl}, "time_per_step_ms": 1.0,
                      "series": {"step": []}, "created": f"2026-01-01T00:00:0{seed}",
                      "environment": {"machine": {"hostname": "here"}, "device": "cpu"}}
            (bench / label / f"seed{seed}-{label}.json").write_text(json.dumps(record))


ROWS = {"nsgan": list(zip(BASE, [1.0, 1.1, 1.2])), "better": list(zip(ROW, [0.2, 0.3, 0.25])),
        "also": list(zip([2.0, 4.0, 9.0], [1.1, 1.0, 1.2])), "single": [(4.0, 0.5)]}


def _line(text, start):
    return next(line for line in text.splitlines() if line.startswith(start))


def _cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_a_tables_intervals_and_tests_are_the_hand_worked_numbers(tmp_path, capsys):
    from aegan.cli import main
    from aegan.results.tables import tables_markdown

    _write_records(tmp_path / "records", ROWS)
    text, _ = tables_markdown([tmp_path / "records"])
    # the mean cells: [1, 2, 3] -> 2.0 ± 2.484; [5, 7, 12] -> 8 ± 4.303 sqrt(13 / 3) = 8 ± 8.957
    assert _line(text, "| nsgan |").startswith("| nsgan | 3 | 2.0 [-0.5, 4.5] | 1.100 [0.852, 1.348] |")
    assert _line(text, "| better |").startswith("| better | 3 | 8.0 [-1.0, 17.0] |")
    assert _line(text, "| single |").startswith("| single | 1 | 4.0 (1 seed) | 0.500 (1 seed) |")
    assert "vs baseline nsgan (row - nsgan):" in text
    # modes, Holm over the two tested rows ("single" has one seed): better's Welch p (t = 2.777,
    # df 2.306) is the smaller, x 2; also's ([2, 4, 9]: t = 3 / sqrt(14 / 3) = 1.389, same df), x 1
    p_better, p_also = two_sided_p(T, DF), two_sided_p(3 / SE, DF)
    assert p_better < p_also
    adjusted_better, adjusted_also = 2 * p_better, max(2 * p_better, p_also)
    half = t_quantile_975(DF) * SE
    better = _line(text.split("vs baseline")[1], "| better |")
    cell = _cells(better)[2]
    assert cell == f"+6.0 [{6 - half:.1f}, {6 + half:.1f}], p = {adjusted_better:.3g} n.s."
    assert cell == "+6.0 [-2.2, 14.2], p = 0.186 n.s."
    also = _cells(_line(text.split("vs baseline")[1], "| also |"))[2]
    assert also == f"+3.0 [{3 - half:.1f}, {3 + half:.1f}], p = {adjusted_also:.3g} n.s."
    # KL (lower is better): [0.2, 0.3, 0.25] against [1.0, 1.1, 1.2] is -0.85 with t = -13.2: significant
    kl_se = math.sqrt(0.0025 / 3 + 0.01 / 3)
    kl_df = (0.0025 / 3 + 0.01 / 3) ** 2 / ((0.0025 / 3) ** 2 / 2 + (0.01 / 3) ** 2 / 2)
    kl_p = 2 * two_sided_p(-0.85 / kl_se, kl_df)  # x 2: the smaller of the two rows' p (also's is 1)
    assert re.fullmatch(rf"-0\.850 \[-1\.\d+, -0\.\d+\], p = {kl_p:.3g} \*\*better\*\*", _cells(better)[3])
    assert "| single | 1 | +2.0 (n < 2: no test) | -0.600 (n < 2: no test) |" in text
    assert "Holm-adjusted over the tested rows of its column (at most 3:" in text
    # the same table from the command line, with the power column: seeds for a difference of 3 modes
    assert main(["tables", str(tmp_path / "records"), "--power", "modes=3"]) == 0
    out = capsys.readouterr().out
    assert "seeds for a difference of 3.0 in modes (80 % power) |" in out
    against = out.split("vs baseline")[1]
    assert _cells(_line(against, "| better |"))[-1] == str(seeds_needed(math.sqrt(13), 1.0, 3.0))
    assert _cells(_line(against, "| single |"))[-1] == str(seeds_needed(1.0, 1.0, 3.0))  # the baseline's spread


def test_the_baseline_comes_from_the_option_the_records_or_nsgan(tmp_path, capsys):
    from aegan.cli import main
    from aegan.config import ConfigError
    from aegan.results.tables import StatsOptions, tables_markdown

    records = tmp_path / "records"
    _write_records(records, ROWS)
    text, _ = tables_markdown([records], options=StatsOptions(baseline="also"))
    assert "vs baseline also" in text and "| nsgan | 3 | -3.0 " in text
    (records / "baselines.yaml").write_text("toy: better\n")
    assert "vs baseline better" in tables_markdown([records])[0]
    assert "No tests (--baseline none)." in tables_markdown([records], options=StatsOptions(baseline="none"))[0]
    (records / "baselines.yaml").write_text("toy: gone\n")
    assert "No tests: its baseline gone (baselines.yaml) has no records here." in tables_markdown([records])[0]
    (records / "baselines.yaml").unlink()
    with pytest.raises(ConfigError, match="--baseline typo: not a row of toy"):
        tables_markdown([records], options=StatsOptions(baseline="typo"))
    with pytest.raises(ConfigError, match="--power modes=-1"):
        StatsOptions(power="modes=-1")
    assert main(["tables", str(records), "--power", "FID=3"]) == 2
    assert "no such metric in this table" in capsys.readouterr().err
    text = tables_markdown([records], options=StatsOptions(baseline="nsgan", test="mannwhitney"))[0]
    # Mann-Whitney: better's 3 seeds all above nsgan's: exact p 0.1, Holm x 2 -> 0.2
    assert "+6.0 [-2.2, 14.2], p = 0.2 n.s." in text and "Mann-Whitney U" in text
    readme = tmp_path / "README.md"
    readme.write_text("<!-- aegan tables records --baseline also --interval bootstrap -->\n<!-- /aegan tables -->\n")
    assert main(["tables", "--update", str(readme)]) == 0
    assert "vs baseline also" in readme.read_text() and "bootstrap percentile" in readme.read_text()
    assert main(["tables", "--update", str(readme), "--baseline", "also"]) == 2  # the block's own options


def test_rows_picks_the_rows_shown_and_so_the_holm_family(tmp_path, capsys):
    from aegan.cli import main
    from aegan.config import ConfigError
    from aegan.results.tables import StatsOptions, tables_markdown

    records = tmp_path / "records"
    _write_records(records, ROWS)
    text = tables_markdown([records], options=StatsOptions(rows="better,nsgan"))[0]
    assert _line(text, "| better |").startswith("| better | 3 |") and "| also |" not in text
    assert text.index("| better |") < text.index("| nsgan |")  # the order given
    # one tested row: better's Welch p alone, no Holm factor (2 x p with "also" in the family)
    assert _cells(_line(text.split("vs baseline")[1], "| better |"))[2] == (
        f"+6.0 [-2.2, 14.2], p = {two_sided_p(T, DF):.3g} n.s.")
    assert "(at most 1:" in text and "rows shown: better,nsgan (--rows)" in text
    with pytest.raises(ConfigError, match="the baseline row nsgan of toy is not among them"):
        tables_markdown([records], options=StatsOptions(rows="better,also"))
    assert "vs baseline also" in tables_markdown([records], options=StatsOptions(rows="better,also",
                                                                                  baseline="also"))[0]
    assert main(["tables", str(records), "--rows", "better,typo"]) == 2
    assert "--rows: typo not a row of toy (rows: nsgan, better, also, single)" in capsys.readouterr().err
    readme = tmp_path / "README.md"
    readme.write_text("<!-- aegan tables records --rows nsgan,also -->\n<!-- /aegan tables -->\n")
    assert main(["tables", "--update", str(readme)]) == 0
    assert "| also |" in readme.read_text() and "| better |" not in readme.read_text()


def test_rows_keep_a_published_row_beside_its_own_method_and_every_measured_row(tmp_path):
    from aegan.results.tables import StatsOptions, tables_markdown

    records = tmp_path / "records"
    _write_records(records, ROWS)
    (records / "references.yaml").write_text(
        '- {config: toy, method: better, metric: mnist_modes/modes, value: 50, source: "Better, its paper"}\n'
        '- {config: toy, method: also, metric: mnist_modes/modes, value: 60, source: "Also, its paper"}\n'
        '- {config: toy, method: "-", metric: mnist_modes/modes, value: 99, source: "real data", kind: measured}\n')
    every = tables_markdown([records])[0]
    assert all(f"*{label}" in every for label in ("Better, its paper", "Also, its paper", "real data"))
    shown = tables_markdown([records], options=StatsOptions(rows="better,nsgan"))[0]
    assert "*Better, its paper (published)*" in shown and "*real data (measured)*" in shown
    assert "Also, its paper" not in shown


def test_the_report_shows_the_same_intervals_tests_and_each_seeds_value(tmp_path):
    from aegan.cli import main

    _write_records(tmp_path / "records", ROWS)
    report = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "records"), "--out", str(report), "--power", "3"]) == 0
    html = report.read_text()
    assert '<td title="seed 0: 5.0; seed 1: 7.0; seed 2: 12.0">8.0 [-1.0, 17.0]</td>' in html
    against = html[html.index("<h3>Against the baseline</h3>"):html.index("<h3>Per seed</h3>")]
    assert "<td>+6.0 [-2.2, 14.2], p = 0.186 <span class=\"mark\">n.s.</span></td>" in against
    significant = r'<td class="significant">-0\.850 \[[^<]+, p = [0-9.e-]+ <span class="mark">better</span>'
    assert re.search(significant, against)
    assert "seeds for a difference of 3.0 in modes" in against
    # --rows: the report's tests run over the rows shown, as the tables' do (one tested row: no Holm factor)
    assert main(["report", str(tmp_path / "records"), "--out", str(report), "--rows", "nsgan,better"]) == 0
    html = report.read_text()
    assert ">also<" not in html and f"p = {two_sided_p(T, DF):.3g} <span" in html


def test_compare_dry_run_plans_the_seeds_the_records_need(tmp_path, capsys):
    import yaml

    from aegan.cli import main
    from tests.conftest import TINY

    _write_records(tmp_path / "records", ROWS)
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**TINY, "data": {"name": "ring8", "std": 0.3}}))
    assert main(["compare", str(config), "--methods", "nsgan,gan", "--seeds", "1", "--dry-run", "--power", "modes=3",
                 "--records", str(tmp_path / "records"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "toy: seeds per row to detect a difference of 3 in modes from nsgan at 80 % power" in out
    assert "  gan: no records yet (run its first seeds)" in out
    assert main(["compare", str(config), "--methods", "nsgan,better,single", "--seeds", "1", "--list",
                 "--power", "3", "--records", str(tmp_path / "records"), "--out", str(tmp_path / "out")]) == 2
    from aegan.results.tables import seeds_plan

    lines = seeds_plan(tmp_path / "records", {"toy": ["nsgan", "better", "single"]}, "modes=3")
    n = seeds_needed(math.sqrt(13), 1.0, 3.0)
    assert f"  better: {n} seeds (3 recorded; --seeds 3-{n - 1} adds {n - 3})" in lines
    assert f"  nsgan (baseline): {n} seeds, the most a row needs (3 recorded; --seeds 3-{n - 1} adds {n - 3})" in lines


def test_versus_tests_rows_against_several_references_holm_over_the_whole_matrix(tmp_path, capsys):
    """``aegan tables --versus``: better against nsgan (t = 2.777, df 2.306) and against also
    ([5, 7, 12] - [2, 4, 9]: +3, both s^2 = 13, SE = sqrt(26 / 3), df 4), one family of two tests:
    the smaller p x 2, the larger max(that, x 1). Per-column Holm would leave both raw."""
    from aegan.cli import main

    _write_records(tmp_path / "records", ROWS)
    assert main(["tables", str(tmp_path / "records"), "--versus", "nsgan,also", "--versus-rows", "better,single",
                 "--versus-metric", "modes"]) == 0
    out = capsys.readouterr().out
    assert "toy: modes, rows against nsgan, also:" in out and "| method | seeds | nsgan (3 seeds) | also (3 seeds) |" in out
    p_nsgan, p_also = two_sided_p(T, DF), two_sided_p(3 / math.sqrt(26 / 3), 4)
    assert p_nsgan < p_also
    adjusted = (2 * p_nsgan, max(2 * p_nsgan, p_also))
    cells = _cells(_line(out, "| better |"))
    assert cells[2].endswith(f"p = {adjusted[0]:.3g} n.s.") and cells[2].startswith("+6.0 [")
    half = t_quantile_975(4) * math.sqrt(26 / 3)
    assert cells[3] == f"+3.0 [{3 - half:.1f}, {3 + half:.1f}], p = {adjusted[1]:.3g} n.s."
    assert f"p = {p_nsgan:.3g}" not in cells[2]  # the matrix is one family: x 2, not the raw p of its column
    assert _cells(_line(out, "| single |"))[2] == "+2.0 (n < 2: no test)"
    assert "Holm-adjusted over all 2 tested cells of this matrix" in out
    assert "vs baseline" not in out  # the matrix replaces the tables
    # KL (lower is better) against nsgan alone: -0.85, t = -13.2, one test: significant, "better"
    assert main(["tables", str(tmp_path / "records"), "--versus", "nsgan", "--versus-rows", "better",
                 "--versus-metric", "mnist_modes/kl"]) == 0
    assert "**better**" in _line(capsys.readouterr().out, "| better |")
    assert main(["tables", str(tmp_path / "records"), "--versus", "pacgan"]) == 2
    assert "--versus: pacgan not a row of toy" in capsys.readouterr().err
    assert main(["tables", str(tmp_path / "records"), "--versus-rows", "better"]) == 2
    assert "go with --versus" in capsys.readouterr().err


def test_a_markdown_block_takes_the_versus_flags(tmp_path):
    from aegan.results.tables import update_blocks

    _write_records(tmp_path / "records", ROWS)
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- aegan tables records --versus nsgan,also --versus-rows better -->\n"
                    "<!-- /aegan tables -->\noutro\n")
    changed, _ = update_blocks(page)
    text = page.read_text()
    assert changed and text.startswith("intro\n") and text.endswith("<!-- /aegan tables -->\noutro\n")
    assert "toy: modes, rows against nsgan, also:" in text and "| better | 3 |" in text and "| single |" not in text
