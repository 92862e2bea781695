"""The statistics of a table's seeds: intervals of means, tests against a baseline row, Holm's
adjustment over a table's rows and the seeds a difference needs (docs/results.md, "Reading
intervals, tests and power").

Each table row is a sample of seeds of one method; the seeds are the replicates. A mean
cell's interval is the 95 % Student-t interval of the mean (or a bootstrap percentile
interval), a row's difference from the baseline row is tested by Welch's t-test (or
Mann-Whitney U) and the p-values of one column are Holm-adjusted over the table's rows. With
fewer than two seeds in a row there is no spread to estimate: no interval and no test.
Computed with scipy.stats where it has the function (t quantiles, the tests, the noncentral t).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as sps

from aegan.results.records import HIGHER_IS_BETTER, LOWER_IS_BETTER

CONFIDENCE = 0.95
ALPHA = 0.05  # a difference is marked significant when its Holm-adjusted p is below this
POWER = 0.8
MAX_SEEDS = 1000  # seeds_needed gives up above this
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # the same intervals on every call
TESTS = ("welch", "mannwhitney")
INTERVALS = ("t", "bootstrap")


def finite(values: Iterable[float | None]) -> np.ndarray:
    """The finite values (a diverged seed's missing metric is left out)."""
    return np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)


def direction(key: str) -> int:
    """+1 when a larger value of metric ``key`` is better, -1 when a smaller one is, 0 when
    neither (``best/<metric>`` takes its metric's direction)."""
    key = key.removeprefix("best/")
    if key in LOWER_IS_BETTER or key.endswith("/missed_modes"):
        return -1
    return 1 if key in HIGHER_IS_BETTER else 0


# -- the interval of one row's mean ---------------------------------------------------------------
def t_interval(values: Iterable[float | None], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Student-t interval of the mean: mean ± t_{(1+c)/2, n-1} · s / sqrt(n), s the sample
    standard deviation (ddof 1); None with fewer than two finite values."""
    x = finite(values)
    if len(x) < 2:
        return None
    half = sps.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def _bootstrap_means(x: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    return x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)


def bootstrap_interval(values: Iterable[float | None], confidence: float = CONFIDENCE,
                       resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """The bootstrap percentile interval of the mean: the (1-c)/2 and (1+c)/2 quantiles of the
    means of ``resamples`` resamples of the seeds with replacement (a fixed ``seed``); None with
    fewer than two finite values. With 2-5 seeds it is narrower than the t interval (it cannot
    reach beyond the seeds' range): a description of the seeds, not a safer interval."""
    x = finite(values)
    if len(x) < 2:
        return None
    means = _bootstrap_means(x, np.random.default_rng(seed), resamples)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def mean_interval(values: Iterable[float | None], kind: str = "t") -> tuple[float, float] | None:
    """``t_interval`` or ``bootstrap_interval`` by name (``INTERVALS``)."""
    interval = {"t": t_interval, "bootstrap": bootstrap_interval}.get(kind)
    if interval is None:
        raise ValueError(f"interval {kind!r}: one of {', '.join(INTERVALS)}")
    return interval(values)


# -- a row against the baseline -------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    """mean(row) - mean(baseline), its interval, the test's two-sided p (unadjusted) and the
    Welch-Satterthwaite degrees of freedom; ``reason`` says why a part is missing."""

    diff: float | None
    low: float | None = None
    high: float | None = None
    p: float | None = None
    df: float | None = None
    reason: str | None = None


def welch_df(row: np.ndarray, base: np.ndarray) -> float:
    """Welch-Satterthwaite: (v1 + v2)^2 / (v1^2 / (n1 - 1) + v2^2 / (n2 - 1)), v = s^2 / n."""
    v1, v2 = row.var(ddof=1) / len(row), base.var(ddof=1) / len(base)
    return float((v1 + v2) ** 2 / (v1 ** 2 / (len(row) - 1) + v2 ** 2 / (len(base) - 1)))


def difference(row: Iterable[float | None], base: Iterable[float | None], test: str = "welch",
               interval: str = "t", confidence: float = CONFIDENCE) -> Difference:
    """The difference of means of ``row`` and ``base`` (finite values), its interval (``t``:
    Welch's, diff ± t_{(1+c)/2, df} · sqrt(s1^2/n1 + s2^2/n2); ``bootstrap``: percentile
    interval of the difference of the two groups' resampled means) and the p-value of a
    two-sided Welch t-test (scipy's ttest_ind, equal_var=False) or Mann-Whitney U test
    (scipy's mannwhitneyu). Both groups need two seeds; Welch's test needs some spread."""
    if test not in TESTS:
        raise ValueError(f"test {test!r}: one of {', '.join(TESTS)}")
    a, b = finite(row), finite(base)
    if not len(a) or not len(b):
        return Difference(None, reason="no value")
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Difference(diff, reason="n < 2")
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    df = welch_df(a, b) if se > 0 else None
    if interval == "bootstrap":
        rng = np.random.default_rng(BOOTSTRAP_SEED)
        diffs = _bootstrap_means(a, rng, BOOTSTRAP_RESAMPLES) - _bootstrap_means(b, rng, BOOTSTRAP_RESAMPLES)
        low, high = (float(q) for q in np.quantile(diffs, [(1 - confidence) / 2, (1 + confidence) / 2]))
    elif df is not None:
        half = sps.t.ppf((1 + confidence) / 2, df) * se
        low, high = float(diff - half), float(diff + half)
    else:
        low = high = diff
    if test == "mannwhitney":
        p = float(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
        return Difference(diff, low, high, p, df)
    if df is None:  # every seed of both rows gave the same value: no t statistic
        return Difference(diff, low, high, None, None, "no spread")
    with warnings.catch_warnings():  # one row's seeds all equal: scipy warns of precision, the result holds
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(sps.ttest_ind(a, b, equal_var=False).pvalue)
    return Difference(diff, low, high, p, df)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of the p-values of one family (a column's rows; None: no
    test, not counted in m): sorted ascending, the k-th smallest (k from 0) becomes
    max over j <= k of min(1, (m - j) · p_(j)), so the adjusted values keep the raw order."""
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for k, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - k) * p))
        out[i] = running
    return out


# -- how many seeds -------------------------------------------------------------------------------
def welch_power(n: int, sd_row: float, sd_base: float, delta: float, alpha: float = ALPHA) -> float:
    """The power of a two-sided Welch t-test with ``n`` seeds in each row to detect a true
    difference ``delta``, the spreads being ``sd_row`` and ``sd_base``: P(|T| > t_{1-alpha/2, df})
    for T noncentral t with df = (n - 1)(s1^2 + s2^2)^2 / (s1^4 + s2^4) (Welch-Satterthwaite at
    equal n) and noncentrality delta / sqrt((s1^2 + s2^2) / n)."""
    var = sd_row ** 2 + sd_base ** 2
    df = (n - 1) * var ** 2 / (sd_row ** 4 + sd_base ** 4)
    nc = abs(delta) / math.sqrt(var / n)
    crit = sps.t.ppf(1 - alpha / 2, df)
    return float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))


def seeds_needed(sd_row: float, sd_base: float, delta: float, power: float = POWER, alpha: float = ALPHA,
                 max_seeds: int = MAX_SEEDS) -> int | None:
    """The smallest number of seeds n >= 2, the same in the row and the baseline, at which
    ``welch_power`` reaches ``power``; None above ``max_seeds``. Two rows without spread need 2."""
    if delta == 0:
        return None
    if sd_row == 0 and sd_base == 0:
        return 2
    for n in range(2, max_seeds + 1):
        if welch_power(n, sd_row, sd_base, delta, alpha) >= power:
            return n
    return None


def row_seeds_needed(row: Iterable[float | None], base: Iterable[float | None], delta: float) -> tuple[int | None, str]:
    """``seeds_needed`` from the observed spreads (sample std, ddof 1) of a row and the
    baseline; a row with one seed borrows the baseline's spread (and the other way round).
    Returns (seeds or None, "" or why not)."""
    a, b = finite(row), finite(base)
    sd_a = float(a.std(ddof=1)) if len(a) > 1 else None
    sd_b = float(b.std(ddof=1)) if len(b) > 1 else None
    if sd_a is None and sd_b is None:
        return None, "n < 2"
    n = seeds_needed(sd_b if sd_a is None else sd_a, sd_a if sd_b is None else sd_b, delta)
    return n, "" if n is not None else f"> {MAX_SEEDS}"
