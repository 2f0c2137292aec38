"""Referrers: who sends referrals, how that changes, and who to call before a relationship is lost.

What a liaison sees here are counts and rates per referring clinician per month, never a list of
referrals or patients (DESIGN.md, Privacy). The drill-down cohorts behind the numbers are for roles
that may see referrals.

Definitions
-----------
- The window: the last 12 calendar months (or `months`) ending with the scope's last month, in the
  practice's time zone, up to `as_of` (the current month counts so far). A referral belongs to the
  month of the day it was received, local time (11:30 pm on March 31 in New York is March).
- Referrals per month: the count for each month of the window; a month with none is a zero.
- A referrer is the referring clinician (`referrer_key`); their name and practice are those of
  their latest referral. Referrals with no known referrer are counted apart (`unattributed`) and
  belong to no referrer. A referrer with no referral in the window is not listed.
- Trend: a Poisson log-linear regression of the monthly counts on the month (each whole month
  weighs the same; the current month by the share of it that has passed), tested against "no
  trend" by a likelihood-ratio test; `monthly_change` is the fitted change per month (0.10: ten
  percent more each month). `recent_change` is the rate of the last 3 months against the rate of
  the 6 before them, minus one (None when the 6 before had none). Months before a referrer's
  first referral are no part of either (the monthly series still shows them as zeros), nor is
  the month of that first referral when it falls in the window (it holds one by definition);
  after it, a month with none is a zero.
- Service-line mix: the referrals in the window per service line, largest first.
- Conversion: of the referrals received in the window, the share seen (a visit happened) by
  `as_of`, with its Wilson 95% interval. Recent referrals have had less time to be seen.
- Days since last referral: calendar days from the latest referral's day to `as_of`'s day.

Segments (each referrer gets the first that applies)
---------------------------------------------------
1. new: the first referral we have from them falls in the last 6 months, and the data reaches
   back before those 6 months (else we cannot tell new from unseen). A referrer whose first
   referral is this month is new, never growing.
2. dormant: at least 6 referrals in the window before the last 90 days (one every other month:
   not an occasional referrer) and none in the last 90.
3. occasional: fewer than one referral every two months in the window (under 6 in 12 months):
   too few to judge a trend.
4. growing: the trend is significant (p < 0.05) and the fitted change over a year is +25% or
   more (exp(12 x slope) >= 1.25).
5. declining: the trend is significant (p < 0.05) and the fitted change over a year is -20% or
   more (exp(12 x slope) <= 1 / 1.25, the mirror of +25% on the ratio scale).
6. steady: everyone else.

Why these thresholds: on referrers simulated with the demo generator's trajectories (400
referrers, 25,000 referrals over 24 months, 10 runs), 92% of steady referrers are called steady
(6% growing or declining: the test's 5% and a little more, as the likelihood-ratio test is
slightly liberal on very small counts; 1.4% dormant); 67% of dormant ones are called dormant (the
rest had too few referrals: occasional); 2.6% of occasional ones are called dormant; 3.4% of
steady referrers raise a drop-off alert. A modest trend in a small practice's counts is often
not significant in 12 months (19% of growing referrers are called growing, 25% of declining ones
declining and 10% more dormant): a segment is a claim the counts support, not a guess.

Drop-off alert (who to call)
----------------------------
An exact Poisson test of the referrer's count in the recent period (the last 2 months of the
window, the current one so far) against their own rate in the 10 months before it: expected =
baseline count x recent days / baseline days; p = P(X <= recent count | expected), one-sided;
an alert when p < 0.05. Only referrers with at least 15 referrals in the baseline (one and a
half a month) are tested: below that even two silent months are not significant at 0.05 (for
10 whole months and 2 whole ones, expected = 15 x 61 / 304 = 3.01, P(0) = e^-3.01 = 0.049).
Days are calendar days on the local wall clock. A referrer whose first referral came late in the
baseline has a diluted baseline rate, which errs towards fewer alerts. The alert carries the
recent count, what was expected, the rate ratio with its exact 95% interval and the monthly
figures, so a liaison can call.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.metrics.stats import (
    Interval,
    poisson_lower_p,
    poisson_trend,
    rate_ratio,
    wilson,
)
from refloop.analytics.scope import Scope, month_after, month_before

DEFAULT_MONTHS = 12
SEGMENTS = ("new", "growing", "steady", "declining", "dormant", "occasional")
NEW_MONTHS = 6
DORMANT_DAYS = 90
DORMANT_MIN_BEFORE = 6
OCCASIONAL_PER_MONTH = 0.5  # fewer than this many a month on average: occasional
TREND_P = 0.05
TREND_YEAR_RISE = 1.25  # fitted change over 12 months, as a ratio: growing at or above it
TREND_YEAR_FALL = 1 / 1.25  # declining at or below it
RECENT_MONTHS, PREVIOUS_MONTHS = 3, 6  # recent_change: the last 3 months against the 6 before

DROP_RECENT_MONTHS = 2
DROP_BASELINE_MONTHS = 10
DROP_MIN_BASELINE = 15
DROP_P = 0.05

DAY = 86400.0


@dataclass(frozen=True)
class MonthCount:
    month: dt.date  # the first day of the month
    count: int


@dataclass(frozen=True)
class LineCount:
    service_line: str
    count: int
    share: float


@dataclass(frozen=True)
class Referrer:
    key: str
    name: str
    practice: str
    segment: str
    total: int  # referrals in the window
    monthly: tuple[MonthCount, ...]  # every month of the window, zeros included
    monthly_change: float | None  # fitted change per month (0.1 = +10%/month)
    trend_p: float | None
    recent_change: float | None  # last 3 months' rate against the 6 before, minus one
    lines: tuple[LineCount, ...]
    seen: int
    conversion: Interval  # seen / total, Wilson 95%
    first_referral_on: dt.date
    last_referral_on: dt.date
    days_since_last: int
    drill: Drill


@dataclass(frozen=True)
class DropOff:
    key: str
    name: str
    practice: str
    recent_from: dt.date
    recent_count: int
    recent_days: float
    baseline_from: dt.date
    baseline_count: int
    baseline_days: float
    expected: float  # what the baseline rate predicts for the recent days
    p_value: float  # P(X <= recent_count | expected), exact Poisson, one-sided
    rate_ratio: Interval  # recent rate / baseline rate, exact 95%
    monthly: tuple[MonthCount, ...]
    last_referral_on: dt.date
    drill: Drill


@dataclass(frozen=True)
class SegmentCount:
    segment: str
    count: int


@dataclass(frozen=True)
class ReferrerReport:
    months: tuple[dt.date, ...]
    as_of: dt.datetime
    referrers: tuple[Referrer, ...]  # most referrals first
    segments: tuple[SegmentCount, ...]  # in SEGMENTS order, zeros included
    alerts: tuple[DropOff, ...]  # most significant first
    unattributed: int  # referrals in the window with no known referrer

    def referrer(self, key: str) -> Referrer | None:
        return next((r for r in self.referrers if r.key == key), None)


@dataclass(frozen=True)
class Window:
    months: tuple[dt.date, ...]
    start: dt.datetime  # UTC, the first month's first moment
    as_of: dt.datetime  # UTC, the end of what is counted
    exposures: tuple[float, ...]  # the share of each month inside [start, as_of)


def window(scope: Scope, months: int = DEFAULT_MONTHS) -> Window:
    """The `months` calendar months ending with the scope's last month, up to as_of."""
    last = (scope.end - dt.timedelta(days=1)).replace(day=1)
    firsts = [last]
    while len(firsts) < months:
        firsts.insert(0, month_before(firsts[0]))
    as_of = min(scope.as_of, scope.moment(scope.end)).astimezone(dt.UTC)
    exposures = []
    for first in firsts:
        passed = _days_between(scope, first, as_of) / _days_between(
            scope, first, month_after(first)
        )
        exposures.append(min(1.0, max(0.0, passed)))
    return Window(tuple(firsts), scope.moment(firsts[0]), as_of, tuple(exposures))


def referrers(facts: pl.DataFrame, scope: Scope, *, months: int = DEFAULT_MONTHS) -> ReferrerReport:
    """Every referrer with a referral in the window: monthly counts, trend, segment; and the
    drop-off alerts (module docstring)."""
    w = window(scope, months)
    received = pl.col("received_at")
    rows = scope.filtered(facts).filter(received < w.as_of)
    unattributed = rows.filter((received >= w.start) & (pl.col("referrer_key") == "")).height
    rows = rows.filter(pl.col("referrer_key") != "").with_columns(
        month=received.dt.convert_time_zone(scope.tz.key).dt.date().dt.month_start()
    )
    data_start = rows["received_at"].min() if rows.height else None
    summary = _summary(rows, scope, w)
    monthly = _monthly(rows, w)
    lines = _lines(rows, w)
    report = []
    alerts = []
    months = w.months
    zeros = [MonthCount(m, 0) for m in months]  # shared: most months of most referrers
    for row in summary.iter_rows(named=True):
        counts = monthly.get(row["key"]) or [0] * len(months)
        series = tuple([MonthCount(months[i], n) if n else zeros[i] for i, n in enumerate(counts)])
        referrer = _referrer(row, series, lines.get(row["key"], ()), scope, w, data_start)
        report.append(referrer)
        alert = _drop_off(row, series, scope, w)
        if alert:
            alerts.append(alert)
    report.sort(key=lambda r: (-r.total, r.name, r.key))
    alerts.sort(key=lambda a: (a.p_value, a.name, a.key))
    counts = {segment: 0 for segment in SEGMENTS}
    for referrer in report:
        counts[referrer.segment] += 1
    return ReferrerReport(
        months=w.months,
        as_of=w.as_of,
        referrers=tuple(report),
        segments=tuple(SegmentCount(s, n) for s, n in counts.items()),
        alerts=tuple(alerts),
        unattributed=unattributed,
    )


def _periods(scope: Scope, w: Window) -> tuple[dt.date, dt.date]:
    """The first days of the drop-off test's recent period and of its baseline."""
    recent = w.months[-1]
    for _ in range(DROP_RECENT_MONTHS - 1):
        recent = month_before(recent)
    baseline = recent
    for _ in range(DROP_BASELINE_MONTHS):
        baseline = month_before(baseline)
    return recent, baseline


def _summary(rows: pl.DataFrame, scope: Scope, w: Window) -> pl.DataFrame:
    received = pl.col("received_at")
    in_window = received >= w.start
    # 90 days on the local wall clock (a DST change in between does not move it by an hour).
    quiet_since = (w.as_of.astimezone(scope.tz) - dt.timedelta(days=DORMANT_DAYS)).astimezone(
        dt.UTC
    )
    recent, baseline = (scope.moment(day) for day in _periods(scope, w))
    seen = pl.col("seen_at").is_not_null() & (pl.col("seen_at") < w.as_of)
    return (
        rows.group_by(pl.col("referrer_key").alias("key"))
        .agg(
            name=pl.col("referrer_name").sort_by("received_at").last(),
            practice=pl.col("practice").sort_by("received_at").last(),
            first=received.min(),
            last=received.max(),
            total=in_window.sum(),
            seen=(in_window & seen).sum(),
            quiet=(received >= quiet_since).sum(),
            before_quiet=(in_window & (received < quiet_since)).sum(),
            recent=(received >= recent).sum(),
            baseline=((received >= baseline) & (received < recent)).sum(),
        )
        .filter(pl.col("total") > 0)
        .sort("key")
    )


def _monthly(rows: pl.DataFrame, w: Window) -> dict[str, list[int]]:
    """Each referrer's count in every month of the window, zeros included."""
    index = {month: i for i, month in enumerate(w.months)}
    counts = rows.filter(pl.col("received_at") >= w.start).group_by("referrer_key", "month").len()
    series: dict[str, list[int]] = {}
    for key, month, n in counts.iter_rows():
        i = index.get(month)
        if i is not None:
            series.setdefault(key, [0] * len(w.months))[i] = n
    return series


def _lines(rows: pl.DataFrame, w: Window) -> dict[str, tuple[LineCount, ...]]:
    counts = (
        rows.filter(pl.col("received_at") >= w.start)
        .group_by("referrer_key", "service_line")
        .len()
        .with_columns(share=pl.col("len") / pl.col("len").sum().over("referrer_key"))
        .sort("referrer_key", "len", "service_line", descending=[False, True, False])
    )
    lines: dict[str, list[LineCount]] = {}
    for key, line, n, share in counts.iter_rows():
        lines.setdefault(key, []).append(LineCount(line, n, share))
    return {key: tuple(value) for key, value in lines.items()}


def _referrer(row, series, lines, scope: Scope, w: Window, data_start) -> Referrer:
    first_on = _local_day(row["first"], scope)
    last_on = _local_day(row["last"], scope)
    # Before their first referral they did not refer yet: those months are no part of the
    # trend. Nor is the month of the first referral when it falls in the window: it holds at
    # least one by definition, which would make every newcomer look like they are slowing.
    starts = first_on.replace(day=1)
    exposures = [
        e if m.month > starts or (m.month == starts and starts < w.months[0]) else 0.0
        for m, e in zip(series, w.exposures, strict=True)
    ]
    counts = [m.count if e else 0 for m, e in zip(series, exposures, strict=True)]
    trend = poisson_trend(counts, exposures)
    recent_change = _recent_change(counts, exposures)
    new_since = w.months[-min(NEW_MONTHS, len(w.months))]
    segment = _segment(
        row,
        trend_slope=trend.slope,
        trend_p=trend.p_value,
        new=first_on >= new_since and _local_day(data_start, scope) < new_since,
        months=len(w.months),
    )
    return Referrer(
        key=row["key"],
        name=row["name"],
        practice=row["practice"],
        segment=segment,
        total=row["total"],
        monthly=series,
        monthly_change=trend.change_per_period,
        trend_p=trend.p_value,
        recent_change=recent_change,
        lines=lines,
        seen=row["seen"],
        conversion=wilson(row["seen"], row["total"]),
        first_referral_on=first_on,
        last_referral_on=last_on,
        days_since_last=(_local_day(w.as_of, scope) - last_on).days,
        drill=referrals_drill(row["key"], len(w.months)),
    )


def _segment(row, *, trend_slope, trend_p, new: bool, months: int) -> str:
    if new:
        return "new"
    if row["quiet"] == 0 and row["before_quiet"] >= DORMANT_MIN_BEFORE:
        return "dormant"
    if row["total"] < OCCASIONAL_PER_MONTH * months:
        return "occasional"
    if trend_p < TREND_P:
        year = math.exp(max(-50.0, min(50.0, 12 * trend_slope)))
        if year >= TREND_YEAR_RISE:
            return "growing"
        if year <= TREND_YEAR_FALL:
            return "declining"
    return "steady"


def _recent_change(counts: list[int], exposures: list[float]) -> float | None:
    """Rate in the last 3 months against the 6 before, minus one; None when those had none
    (or the referrer had not started then)."""
    recent = slice(-RECENT_MONTHS, None)
    previous = slice(-(RECENT_MONTHS + PREVIOUS_MONTHS), -RECENT_MONTHS)
    before, before_time = sum(counts[previous]), sum(exposures[previous])
    now, now_time = sum(counts[recent]), sum(exposures[recent])
    if before == 0 or before_time == 0 or now_time == 0:
        return None
    return (now / now_time) / (before / before_time) - 1


def _drop_off(row, series, scope: Scope, w: Window) -> DropOff | None:
    if row["baseline"] < DROP_MIN_BASELINE:
        return None
    recent_on, baseline_on = _periods(scope, w)
    recent_days = _days_between(scope, recent_on, w.as_of)
    baseline_days = _days_between(scope, baseline_on, recent_on)
    if recent_days <= 0:
        return None
    expected = row["baseline"] * recent_days / baseline_days
    p = poisson_lower_p(row["recent"], expected)
    if p >= DROP_P:
        return None
    return DropOff(
        key=row["key"],
        name=row["name"],
        practice=row["practice"],
        recent_from=recent_on,
        recent_count=row["recent"],
        recent_days=recent_days,
        baseline_from=baseline_on,
        baseline_count=row["baseline"],
        baseline_days=baseline_days,
        expected=expected,
        p_value=p,
        rate_ratio=rate_ratio(row["recent"], recent_days, row["baseline"], baseline_days),
        monthly=series,
        last_referral_on=_local_day(row["last"], scope),
        drill=referrals_drill(row["key"], len(w.months)),
    )


def _days_between(scope: Scope, day: dt.date, until: dt.date | dt.datetime) -> float:
    """Calendar days from a local day's start to a local day or moment, on the wall clock: a
    daylight-saving change does not make a day 23 or 25 hours long."""
    if isinstance(until, dt.datetime):
        until = until.astimezone(scope.tz).replace(tzinfo=None)
    else:
        until = dt.datetime.combine(until, dt.time.min)
    return (until - dt.datetime.combine(day, dt.time.min)).total_seconds() / DAY


def _local_day(moment: dt.datetime, scope: Scope) -> dt.date:
    return moment.astimezone(scope.tz).date()


# Drill-down: the referrals behind a referrer's numbers (for roles that may see referrals) -------


@cohort("referrers.referrals")
def referrer_referrals(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """A referrer's referrals in the window (arg: the referrer key, and "|<months>" when the
    window is not the default 12 months)."""
    key, _, months = arg.partition("|")
    w = window(scope, int(months or DEFAULT_MONTHS))
    received = pl.col("received_at")
    return scope.filtered(facts).filter(
        (pl.col("referrer_key") == key) & (received >= w.start) & (received < w.as_of)
    )


@cohort("referrers.month")
def referrer_month(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """A referrer's referrals in one month (arg: "<referrer key>|2025-03")."""
    key, _, month = arg.rpartition("|")
    first = dt.date.fromisoformat(f"{month}-01")
    w = window(scope)
    received = pl.col("received_at")
    return scope.filtered(facts).filter(
        (pl.col("referrer_key") == key)
        & (received >= scope.moment(first))
        & (received < scope.moment(month_after(first)))
        & (received < w.as_of)
    )


def referrals_drill(key: str, months: int = DEFAULT_MONTHS) -> Drill:
    return Drill("referrers.referrals", key if months == DEFAULT_MONTHS else f"{key}|{months}")


def month_drill(key: str, month: dt.date) -> Drill:
    return Drill("referrers.month", f"{key}|{month:%Y-%m}")
