"""The statistical formulas against values worked out by hand or published examples."""

import itertools
import math
import random
import statistics
from collections import Counter

import pytest

from refloop.analytics.metrics.stats import (
    Z95,
    Trend,
    binomial_cdf,
    clopper_pearson,
    median_difference,
    newcombe,
    poisson_cdf,
    poisson_interval,
    poisson_lower_p,
    poisson_trend,
    rate_ratio,
    resampled_median,
    wilson,
)


def close(value, expected, digits=4):
    return round(value, digits) == round(expected, digits)


def test_it_gives_newcombes_published_wilson_intervals():
    # Newcombe (1998), Statistics in Medicine 17:857, table II, method 3 (score).
    assert close(wilson(81, 263).low, 0.2553) and close(wilson(81, 263).high, 0.3662)
    assert close(wilson(15, 148).low, 0.0624) and close(wilson(15, 148).high, 0.1605)
    assert close(wilson(1, 29).low, 0.0061) and close(wilson(1, 29).high, 0.1718)


def test_it_works_out_wilson_at_zero_by_hand():
    # p = 0: the centre and half-width are equal, the upper bound is z^2 / (n + z^2).
    z2 = Z95 * Z95  # 3.8415
    assert wilson(0, 20).low == 0
    assert close(wilson(0, 20).high, z2 / (20 + z2))  # 3.8415 / 23.8415 = 0.1611
    assert close(wilson(20, 20).low, 20 / (20 + z2))  # mirror image: 0.8389


def test_it_has_no_interval_without_cases():
    assert wilson(0, 0).estimate is None
    assert newcombe(1, 0, 1, 5).estimate is None


def test_it_gives_newcombes_published_difference_intervals():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10 (hybrid score).
    d = newcombe(56, 70, 48, 80)  # 0.8 - 0.6
    assert close(d.estimate, 0.2) and close(d.low, 0.0524) and close(d.high, 0.3339)
    d = newcombe(9, 10, 3, 10)
    assert close(d.low, 0.1705) and close(d.high, 0.8090)
    assert not d.spans_zero


def test_it_builds_newcombe_from_the_two_wilson_intervals():
    # 5/10 vs 5/10: d = 0; each side adds the two Wilson half-widths in quadrature.
    w = wilson(5, 10)  # 0.2366 .. 0.7634, symmetric about 0.5
    d = newcombe(5, 10, 5, 10)
    half = math.sqrt(2) * (0.5 - w.low)  # sqrt(0.2634^2 + 0.2634^2) = 0.3725
    assert d.estimate == 0 and close(d.low, -half) and close(d.high, half)
    assert d.spans_zero


def test_it_sums_poisson_tails_by_hand():
    assert close(poisson_cdf(0, 3), math.exp(-3), 10)  # 0.0498: just under 0.05
    # P(X <= 2 | 6) = e^-6 (1 + 6 + 36/2) = 25 e^-6 = 0.0620
    assert close(poisson_lower_p(2, 6), 25 * math.exp(-6), 10)
    assert poisson_cdf(-1, 2) == 0 and poisson_cdf(3, 0) == 1
    # A large mean does not underflow: the median of Poisson(1000) is about 1000.
    assert 0.49 < poisson_cdf(1000, 1000) < 0.52


def test_it_gives_garwoods_exact_poisson_intervals():
    # Zero events: the upper bound solves e^-mu = 0.025, mu = -ln 0.025 = 3.6889.
    assert poisson_interval(0).low == 0
    assert close(poisson_interval(0).high, -math.log(0.025))
    # Textbook table (e.g. Ulm 1990): 1 -> 0.0253 .. 5.5716, 10 -> 4.7954 .. 18.3904.
    assert close(poisson_interval(1).low, 0.0253) and close(poisson_interval(1).high, 5.5716)
    assert close(poisson_interval(10).low, 4.7954) and close(poisson_interval(10).high, 18.3904)


def test_it_gives_clopper_pearson_in_closed_form_at_the_ends():
    # 0 of n: the upper bound solves (1 - p)^n = 0.025; n of n: the lower solves p^n = 0.025.
    assert close(clopper_pearson(0, 10).high, 1 - 0.025 ** (1 / 10))  # 0.3085
    assert close(clopper_pearson(10, 10).low, 0.025 ** (1 / 10))  # 0.6915
    # 1 of 2 (the classic check): P(X >= 1 | p) = 1 - (1-p)^2 = 0.025 -> p = 1 - sqrt(0.975).
    assert close(clopper_pearson(1, 2).low, 1 - math.sqrt(0.975))
    assert close(binomial_cdf(1, 3, 0.5), 0.5)  # (1 + 3) / 8


def test_it_gives_the_exact_rate_ratio():
    # 10 events in 2 months against 20 in 4: the same rate, ratio 1, and the interval spans 1.
    r = rate_ratio(10, 2.0, 20, 4.0)
    assert r.estimate == 1 and r.low < 1 < r.high
    # 0 events against 10 over the same time: p = x1/n has upper bound 1 - 0.025^(1/10) = 0.3085,
    # so the ratio's upper bound is 0.3085 / 0.6915 = 0.4461.
    r = rate_ratio(0, 1.0, 10, 1.0)
    p = 1 - 0.025 ** (1 / 10)
    assert r.estimate == 0 and r.low == 0 and close(r.high, p / (1 - p))
    # Exposures scale it: the same counts over twice the first exposure halve the ratio.
    assert close(rate_ratio(0, 2.0, 10, 1.0).high, p / (1 - p) / 2)
    assert rate_ratio(0, 1.0, 0, 1.0).estimate is None


def test_it_fits_a_doubling_trend_exactly():
    # Counts 1, 2, 4, 8 are exactly mu_t = e^(a + t ln 2): the fit is exact, slope ln 2 (the
    # score equations sum(y - mu) = 0 and sum(t(y - mu)) = 0 hold with mu = y).
    trend = poisson_trend([1, 2, 4, 8])
    assert close(trend.slope, math.log(2), 6) and close(trend.change_per_period, 1.0, 6)
    # LR = 2 sum y ln(y / 3.75) (the null's mean is 15/4 and sum(y - mu) = 0 for both fits).
    statistic = 2 * sum(y * math.log(y / 3.75) for y in (1, 2, 4, 8))  # 7.4858
    assert close(trend.p_value, math.erfc(math.sqrt(statistic / 2)), 6)  # 0.0062


def test_it_finds_no_trend_in_flat_counts_or_in_nothing():
    assert poisson_trend([3, 3, 3, 3]) == Trend(slope=0.0, p_value=1.0)
    assert poisson_trend([0, 0, 0]).p_value == 1
    # A flat rate with a half-length last period (exposure 0.5) and half the count: no trend.
    assert close(poisson_trend([4, 4, 4, 2], [1, 1, 1, 0.5]).slope, 0.0, 6)


def test_it_sees_a_referrer_stop_as_a_falling_trend():
    trend = poisson_trend([6, 6, 6, 6, 6, 6, 0, 0, 0])
    assert trend.slope < 0 and trend.p_value < 0.001


def test_it_bootstraps_a_difference_of_medians():
    # Constant groups: every resample has the same medians, so the interval is the point.
    same = median_difference([5, 5, 5], [2, 2])
    assert (same.estimate, same.low, same.high) == (3, 3, 3)
    # A resampled median of the first lies in [20, 24], of the second in [8, 10]: every
    # difference, and so the interval, lies in [20 - 10, 24 - 8] = [10, 16], above zero.
    apart = median_difference([20, 21, 22, 23, 24], [10, 9, 8, 10, 9])
    assert apart.estimate == 22 - 9 and 10 <= apart.low <= apart.high <= 16
    assert not apart.spans_zero
    # A fixed seed: the same data give the same interval.
    assert median_difference([1, 4, 2, 8], [3, 1, 2]) == median_difference([1, 4, 2, 8], [3, 1, 2])
    assert median_difference([], [1]).estimate is None


@pytest.mark.parametrize("level", [0.9, 0.99])
def test_it_widens_with_the_level(level):
    w = wilson(30, 100, level=level)
    assert (w.high - w.low > wilson(30, 100).high - wilson(30, 100).low) == (level > 0.95)


@pytest.mark.parametrize(
    ("k", "n", "p"), [(0, 10, 0.3), (5, 10, 0.3), (40, 100, 0.45), (9, 10, 0.9)]
)
def test_it_gives_the_binomial_tail_of_the_direct_sum(k, n, p):
    # The incomplete-beta route against sum of C(n, i) p^i (1-p)^(n-i) for i <= k.
    direct = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))
    assert math.isclose(binomial_cdf(k, n, p), direct, rel_tol=1e-12)


@pytest.mark.parametrize("values", [[1, 3], [1, 2, 3], [1, 2, 3, 4], [1, 1, 2, 5, 9]])
def test_it_drawsresampled_medians_as_often_as_resampling_would(values):
    # By hand for [1, 2, 3]: the median is 1 when at least two of three draws are 1:
    # 3 (1/3)^2 (2/3) + (1/3)^3 = 7/27; likewise 3; and 2 the other 13/27. Here every case is
    # worked out by listing all n^n resamples, against 40,000 drawn medians.
    n = len(values)
    exact = Counter(
        statistics.median(values[i] for i in picks)
        for picks in itertools.product(range(n), repeat=n)
    )
    rng = random.Random(7)
    drawn = Counter(resampled_median(sorted(values), rng) for _ in range(40_000))
    for median, ways in exact.items():
        assert abs(drawn[median] / 40_000 - ways / n**n) < 0.01, median
    assert set(drawn) <= set(exact)
    if values == [1, 2, 3]:
        assert exact == {1: 7, 2: 13, 3: 7}
