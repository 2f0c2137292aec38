"""The few statistical formulas the metrics use, written out (no numpy or scipy in the project).

Every interval here is two-sided at 95% unless asked otherwise; every rule says which method it
is, so a number on a page can be checked by hand or against a textbook:

- `wilson`: Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).
- `newcombe`: Newcombe's hybrid score interval for a difference of two independent proportions
  (Newcombe 1998, method 10), built from the two Wilson intervals.
- `poisson_cdf` / `poisson_lower_p`: the exact Poisson probability of seeing at most k events
  when mu are expected: the one-sided (lower tail) p-value of "fewer than usual".
- `poisson_interval`: the exact (Garwood) interval for a Poisson mean from one count.
- `rate_ratio`: the ratio of two Poisson rates with its exact conditional interval: given both
  counts, the first is binomial out of their sum; its Clopper-Pearson interval is turned into a
  ratio of rates.
- `poisson_trend`: the log-linear (Poisson regression) trend of counts over equally spaced
  periods, with its likelihood-ratio test against "no trend".
- `median_difference`: percentile bootstrap interval for a difference of medians, with a fixed
  seed so the same data always give the same interval (each resample's median is drawn from its
  exact distribution, so a group of a million costs no more than a group of ten).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
BOOTSTRAP_SEED = 20250501
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval; all None when there is nothing to estimate from."""

    estimate: float | None
    low: float | None
    high: float | None

    @property
    def spans_zero(self) -> bool:
        return self.low is None or self.high is None or self.low <= 0 <= self.high


NONE = Interval(None, None, None)


def z_for(level: float) -> float:
    return Z95 if level == 0.95 else _normal_quantile(0.5 + level / 2)


def wilson(successes: int, n: int, *, level: float = 0.95) -> Interval:
    """Wilson score interval: the proportions p whose score test (p_hat - p) / sqrt(p(1-p)/n)
    stays within +-z. Unlike p_hat +- z*se it never leaves [0, 1] and is sound for small n."""
    if n <= 0:
        return NONE
    z = z_for(level)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high)


def newcombe(x1: int, n1: int, x2: int, n2: int, *, level: float = 0.95) -> Interval:
    """Difference p1 - p2 with Newcombe's hybrid score interval: each side widens the difference
    by the two Wilson half-widths that pull that way, added in quadrature."""
    if n1 <= 0 or n2 <= 0:
        return NONE
    one, two = wilson(x1, n1, level=level), wilson(x2, n2, level=level)
    p1, p2 = one.estimate, two.estimate
    d = p1 - p2
    low = d - math.sqrt((p1 - one.low) ** 2 + (two.high - p2) ** 2)
    high = d + math.sqrt((one.high - p1) ** 2 + (p2 - two.low) ** 2)
    return Interval(d, low, high)


# Poisson ---------------------------------------------------------------------------------------


def poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed in log space (no underflow for large mu)."""
    if k < 0:
        return 0.0
    if mu <= 0:
        return 1.0
    logs = [i * math.log(mu) - mu - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(value - top) for value in logs))


def poisson_lower_p(observed: int, expected: float) -> float:
    """Exact one-sided p-value that a count this low or lower comes by chance: P(X <= observed)
    when `expected` events are due."""
    return poisson_cdf(observed, expected)


def poisson_interval(count: int, *, level: float = 0.95) -> Interval:
    """Exact (Garwood) interval for a Poisson mean: the means under which a count at least (at
    most) this extreme still has probability alpha/2 on each side."""
    alpha = 1 - level
    low = 0.0 if count == 0 else _solve(lambda mu: 1 - poisson_cdf(count - 1, mu), alpha / 2)
    high = _solve(lambda mu: -poisson_cdf(count, mu), -alpha / 2)
    return Interval(float(count), low, high)


def rate_ratio(
    x1: int, exposure1: float, x2: int, exposure2: float, *, level: float = 0.95
) -> Interval:
    """Rate1 / rate2 with the exact conditional interval: given n = x1 + x2, x1 is binomial with
    p = e1*r / (e1*r + e2) (r the true ratio); the Clopper-Pearson interval for p maps to r by
    r = p / (1 - p) * e2 / e1. None when neither count has an event."""
    n = x1 + x2
    if n == 0 or exposure1 <= 0 or exposure2 <= 0:
        return NONE
    p = clopper_pearson(x1, n, level=level)
    scale = exposure2 / exposure1

    def to_ratio(q: float) -> float:
        return math.inf if q >= 1 else q / (1 - q) * scale

    estimate = math.inf if x2 == 0 else x1 / exposure1 / (x2 / exposure2)
    return Interval(estimate, to_ratio(p.low), to_ratio(p.high))


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), as the regularized incomplete beta I_(1-p)(n-k, k+1)
    (so a referrer with thousands of referrals costs no more than one with ten)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    return beta_regularized(n - k, k + 1, 1 - p)


def beta_regularized(a: float, b: float, x: float) -> float:
    """I_x(a, b), by its continued fraction (modified Lentz), on the side where it converges."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300

    def floor(value: float) -> float:
        return tiny if abs(value) < tiny else value

    c, d = 1.0, 1 / floor(1 - (a + b) * x / (a + 1))
    result = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 / floor(1 + numerator * d)
            c = floor(1 + numerator / c)
            result *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return result


def clopper_pearson(x: int, n: int, *, level: float = 0.95) -> Interval:
    """Exact binomial interval: the p whose tail probability at the observed x is alpha/2."""
    if n <= 0:
        return NONE
    alpha = 1 - level
    low = 0.0 if x == 0 else _solve(lambda p: 1 - binomial_cdf(x - 1, n, p), alpha / 2, 1.0)
    high = 1.0 if x == n else _solve(lambda p: -binomial_cdf(x, n, p), -alpha / 2, 1.0)
    return Interval(x / n, low, high)


@dataclass(frozen=True)
class Trend:
    """Log-linear trend: counts change by a factor exp(slope) per period."""

    slope: float  # per period, on the log scale
    p_value: float  # likelihood-ratio test of slope = 0, two-sided

    @property
    def change_per_period(self) -> float:
        """The relative change per period (0.1: ten percent more each month)."""
        return math.exp(self.slope) - 1 if self.slope > -700 else -1.0


def poisson_trend(counts: Sequence[int], exposures: Sequence[float] | None = None) -> Trend:
    """Poisson regression log(mu_t) = a + b*t + log(exposure_t) over periods t = 0, 1, ...,
    fitted by Newton's method; the p-value is the likelihood-ratio test of b = 0 (chi-square,
    one degree of freedom), which stays sound when the counts run to zero at one end."""
    exposures = list(exposures) if exposures is not None else [1.0] * len(counts)
    rows = [(t, y, e) for t, (y, e) in enumerate(zip(counts, exposures, strict=True)) if e > 0]
    total, weight = sum(y for _, y, _ in rows), sum(e for _, _, e in rows)
    if len(rows) < 2 or total == 0:
        return Trend(0.0, 1.0)
    centre = sum(t for t, _, _ in rows) / len(rows)
    rows = [(t - centre, y, e) for t, y, e in rows]
    logged = [(t, y, e, math.log(e)) for t, y, e in rows]
    null = _poisson_loglik(logged, math.log(total / weight), 0.0)
    a, b = _poisson_fit(logged, math.log(total / weight))
    statistic = 2 * (_poisson_loglik(logged, a, b) - null)
    statistic = 0.0 if statistic < 1e-9 else statistic  # rounding when the fit is the null
    return Trend(b, math.erfc(math.sqrt(statistic / 2)))


def _poisson_loglik(rows, a: float, b: float) -> float:
    """rows: (t, y, e, log e); log e is taken once per fit, not once per evaluation."""
    total, exp = 0.0, math.exp
    for t, y, _, log_e in rows:
        eta = a + b * t + log_e
        total += y * eta - exp(eta)
    return total


def _poisson_fit(rows, a: float) -> tuple[float, float]:
    # One pass per Newton step for the gradient and the Hessian (50,000 referrers are fitted at
    # once by the standings): each sum adds the same terms in the same order as a sum() per
    # term would, so the fit is the same to the last bit, only faster. rows: (t, y, e, log e).
    b, exp = 0.0, math.exp
    current = _poisson_loglik(rows, a, b)
    for _ in range(100):
        g0 = g1 = h00 = h01 = h11 = 0
        for t, y, e, _ in rows:
            mu = e * exp(a + b * t)
            g0 += y - mu
            g1 += t * (y - mu)
            h00 += mu
            h01 += t * mu
            h11 += t * t * mu
        det = h00 * h11 - h01 * h01
        if det <= 1e-300:
            break
        da, db = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        step = 1.0
        while step > 1e-6:  # halve the step until the likelihood does not fall
            trial = _poisson_loglik(rows, a + step * da, b + step * db)
            if trial >= current - 1e-12:
                break
            step /= 2
        a, b = a + step * da, b + step * db
        if abs(trial - current) < 1e-10 and abs(step * db) < 1e-8:
            current = trial
            break
        current = trial
    return a, b


# Bootstrap -------------------------------------------------------------------------------------


def median_difference(
    first: Sequence[float],
    second: Sequence[float],
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """median(first) - median(second) with a percentile bootstrap interval: resample each group
    with replacement (same size), take the difference of medians, `resamples` times; the interval
    is the alpha/2 and 1 - alpha/2 order statistics of those differences. The seed is fixed, so
    the same data always give the same interval."""
    one = sorted(value for value in first if value is not None)
    two = sorted(value for value in second if value is not None)
    if not one or not two:
        return NONE
    rng = random.Random(seed)
    differences = sorted(
        resampled_median(one, rng) - resampled_median(two, rng) for _ in range(resamples)
    )
    alpha = 1 - level
    low = differences[math.floor(alpha / 2 * resamples)]
    high = differences[math.ceil((1 - alpha / 2) * resamples) - 1]
    return Interval(statistics.median(one) - statistics.median(two), low, high)


def resampled_median(ordered: list[float], rng: random.Random) -> float:
    """The median of one bootstrap resample of `ordered` (sorted), drawn without drawing the
    resample. A resample is x_(ceil(n U_i)) for n uniforms U_i, so its k-th smallest value is
    x_(ceil(n U_(k))), and the k-th smallest of n uniforms is Beta(k, n - k + 1); given it is u,
    the next one up is u + (1 - u) times the smallest of n - k uniforms. Exactly the bootstrap's
    distribution, at a cost that does not grow with n (the whole program in one group is fine).
    """
    n = len(ordered)

    def value(u: float) -> float:
        return ordered[min(n - 1, max(0, math.ceil(n * u) - 1))]

    k = (n + 1) // 2
    u = rng.betavariate(k, n - k + 1)
    if n % 2:
        return value(u)
    following = u + (1 - u) * (1 - rng.random() ** (1 / (n - k)))
    return (value(u) + value(following)) / 2


# Root finding ----------------------------------------------------------------------------------


def _solve(increasing: Callable[[float], float], target: float, top: float | None = None) -> float:
    """The x where an increasing function reaches `target`, by bisection on [0, top]; with no
    top given, doubles one until the function passes the target."""
    low, high = 0.0, top if top is not None else 1.0
    if top is None:
        while increasing(high) < target:
            high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if increasing(middle) < target:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def _normal_quantile(p: float) -> float:
    """Inverse of the standard normal CDF by bisection on erfc (only for levels other than 95%)."""
    return _solve(lambda x: 1 - 0.5 * math.erfc(x / math.sqrt(2)), p, 40.0) if p > 0.5 else 0.0
