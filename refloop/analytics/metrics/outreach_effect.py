"""Outreach effect: did the referrers a liaison touched change more than comparable ones who were
not touched? An association, never proof of cause (Django-free: facts in, figures out).

Definitions
-----------
- A touch: an outreach activity a referring clinician attended (the caller gives each referrer's
  touch days, `touches`: referrer key -> local dates). The touched referrers of a period
  [start, end) are those with a touch in it; their anchor is their FIRST touch in the period.
- Windows, in the practice's local days: before = the `months` calendar months before the anchor,
  [anchor - months, anchor); after = [anchor, anchor + months), cut at as_of's local day (today
  does not count yet). "anchor - 3 months" keeps the day of the month (clamped to the month's
  last day: 31 May - 3 months = 28 February).
- Volume: referrals received in a window per month of it: the count over the window's length in
  months (a cut month counts by the share of its days that passed). Conversion: of the referrals
  received in a window, the share seen (a visit happened) before as_of.
- A referrer whose after window is shorter than MIN_AFTER_DAYS is "too recent" and left out.
- Comparable untouched referrers of a touched one: every other referrer with a referral in
  `facts` (the page reads them from the earliest before window on) with no touch from the start
  of its before window to the end of its after window, measured over EXACTLY the same days (same
  calendar months: seasons and the practice's own changes fall on both sides alike), in the same
  volume band over the before window (BANDS, referrals a month) and, when the caller gives
  `strata` (a trait fixed before the touch, such as specialty), the same stratum. Why not the
  referrer's current segment: it is measured after the touch and would carry the touch's own
  effect. A touched referrer with no comparable one is "unmatched" and left out.
- Difference-in-differences, volume: for each matched touched referrer, (after - before) minus
  the mean (after - before) of its comparable referrers; the estimate is the mean over touched
  referrers. Conversion: pooled shares, (touched after - touched before) - (comparable after -
  comparable before), each comparable referrer weighing 1 / the size of its group (so each
  touched referrer's group weighs as one). Recent referrals have had less time to be seen; both
  groups share the same days, so that bias cancels in the difference.
- Interval: percentile bootstrap, 95%: the matched touched referrers are resampled with
  replacement (each with its comparison group) `resamples` times with a fixed seed, the estimate
  recomputed each time; the interval is the 2.5th and 97.5th percentiles. Fewer than
  MIN_MATCHED matched referrers: no interval. An interval that spans 0 is "not distinguishable
  from noise".
- Wording: an association. Liaisons choose whom to visit (often referrers who were fading, who
  tend to drift back on their own: regression to the mean), so a difference is not proof that
  the visits caused it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.metrics.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, NONE, Interval

DEFAULT_MONTHS = 3
MIN_AFTER_DAYS = 28
MIN_MATCHED = 5
# Referrals a month over the before window: lower bounds of the bands.
BANDS = (0.0, 1.0, 3.0, 8.0)
BAND_LABELS = ("under 1 a month", "1 to 3 a month", "3 to 8 a month", "8 or more a month")


@dataclass(frozen=True)
class GroupFigures:
    referrers: int
    before_per_month: float | None
    after_per_month: float | None
    before_conversion: float | None
    after_conversion: float | None


@dataclass(frozen=True)
class OutreachEffect:
    start: dt.date
    end: dt.date
    months: int
    touched: int  # referrers with a touch in the period
    matched: int  # of them, measured against comparable referrers
    unmatched: int  # no comparable untouched referrer
    too_recent: int  # after window under MIN_AFTER_DAYS
    comparison_size: float | None  # untouched referrers per comparison group, on average
    touched_figures: GroupFigures
    comparison_figures: GroupFigures
    volume: Interval  # difference-in-differences, referrals a month
    conversion: Interval  # difference-in-differences, share (0.05 = 5 points)
    resamples: int
    seed: int

    @property
    def enough(self) -> bool:
        return self.matched >= MIN_MATCHED


@dataclass(frozen=True)
class _Unit:
    """One matched touched referrer: its windows' figures and its comparison group's means."""

    before: float
    after: float
    n_before: int
    seen_before: int
    n_after: int
    seen_after: int
    c_before: float
    c_after: float
    c_n_before: float
    c_seen_before: float
    c_n_after: float
    c_seen_after: float


def months_shift(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later (earlier when negative), clamped to the
    month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def window_months(anchor: dt.date, cut: dt.date, months: int) -> float:
    """The length in months of [anchor, min(anchor + months, cut)): whole months, and the share
    of the days of the month that was cut."""
    whole = 0
    while whole < months and months_shift(anchor, whole + 1) <= cut:
        whole += 1
    if whole == months:
        return float(months)
    start, stop = months_shift(anchor, whole), months_shift(anchor, whole + 1)
    return whole + max(0, (cut - start).days) / (stop - start).days


def band_of(per_month: float) -> int:
    return max(i for i, low in enumerate(BANDS) if per_month >= low)


def outreach_effect(
    facts: pl.DataFrame,
    *,
    touches: Mapping[str, Sequence[dt.date]],
    start: dt.date,
    end: dt.date,
    as_of: dt.datetime,
    tz: ZoneInfo,
    months: int = DEFAULT_MONTHS,
    strata: Mapping[str, str] | None = None,
    treated: Collection[str] | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> OutreachEffect:
    """The effect figures of the touches in [start, end) (see the module's definitions).
    `facts` needs referrer_key, received_at and seen_at. `treated`: only these referrers'
    touches are measured (one liaison's); everyone's touches still keep the touched out of the
    comparison groups."""
    today = as_of.astimezone(tz).date()
    days = _days(facts, as_of, tz)
    strata = strata or {}
    universe = days.select(pl.col("referrer_key").unique()).with_columns(
        stratum=pl.col("referrer_key").replace_strict(
            dict(strata), default=None, return_dtype=pl.String
        )
    )
    anchors = {
        key: min(d for d in dates if start <= d < end)
        for key, dates in touches.items()
        if any(start <= d < end for d in dates) and (treated is None or key in treated)
    }
    if anchors:  # only the days any window covers
        first = months_shift(min(anchors.values()), -months)
        days = days.filter(pl.col("day") >= first)
    units: list[_Unit] = []
    sizes: list[int] = []
    too_recent = unmatched = 0
    windows: dict[dt.date, _Window] = {}
    for key, anchor in sorted(anchors.items()):
        cut = min(months_shift(anchor, months), today)
        if (cut - anchor).days < MIN_AFTER_DAYS:
            too_recent += 1
            continue
        if anchor not in windows:
            windows[anchor] = _window(days, universe, anchor, cut, months, set(touches))
        window = windows[anchor]
        low = months_shift(anchor, -months)
        touched = {k for k, dates in touches.items() if any(low <= d < cut for d in dates)}
        unit, size = _unit(key, window, touched, strata, months)
        if unit is None:
            unmatched += 1
            continue
        units.append(unit)
        sizes.append(size)
    volume, conversion = _intervals(units, resamples, seed)
    return OutreachEffect(
        start=start,
        end=end,
        months=months,
        touched=len(anchors),
        matched=len(units),
        unmatched=unmatched,
        too_recent=too_recent,
        comparison_size=sum(sizes) / len(sizes) if sizes else None,
        touched_figures=_touched_figures(units),
        comparison_figures=_comparison_figures(units),
        volume=volume,
        conversion=conversion,
        resamples=resamples,
        seed=seed,
    )


def _days(facts: pl.DataFrame, as_of: dt.datetime, tz: ZoneInfo) -> pl.DataFrame:
    """Attributed referrals received before as_of: key, local day, seen before as_of."""
    moment = as_of.astimezone(dt.UTC)
    return facts.filter((pl.col("referrer_key") != "") & (pl.col("received_at") < moment)).select(
        "referrer_key",
        day=pl.col("received_at").dt.convert_time_zone(tz.key).dt.date(),
        seen=(pl.col("seen_at").is_not_null() & (pl.col("seen_at") < moment)).cast(pl.Int64),
    )


Figures = tuple[int, int, int, int]  # referrals and seen before, referrals and seen after


@dataclass(frozen=True)
class _Window:
    """One anchor day's windows: the after window's length in months, the figures of the
    touched referrers, and each comparison group's size and summed figures (a group: a volume
    band and a stratum), so a touched referrer's comparison group is its group less the
    referrers touched over its windows, without a pass over every referrer."""

    length: float
    rows: dict[str, tuple[int, str | None, Figures]]  # touched key -> band, stratum, figures
    groups: dict[tuple[int, str | None], tuple[int, Figures]]


def _counts(days: pl.DataFrame, low: dt.date, high: dt.date, n: str, seen: str) -> pl.DataFrame:
    """Per referrer: referrals and seen among those received on days in [low, high)."""
    return (
        days.filter((pl.col("day") >= low) & (pl.col("day") < high))
        .group_by("referrer_key")
        .agg(pl.len().cast(pl.Int64).alias(n), pl.col("seen").sum().alias(seen))
    )


def _window(
    days: pl.DataFrame,
    universe: pl.DataFrame,
    anchor: dt.date,
    cut: dt.date,
    months: int,
    wanted: set[str],
) -> _Window:
    before = _counts(days, months_shift(anchor, -months), anchor, "n_b", "s_b")
    after = _counts(days, anchor, cut, "n_a", "s_a")
    rate = pl.col("n_b") / months
    per_key = (
        universe.join(before, on="referrer_key", how="left")
        .join(after, on="referrer_key", how="left")
        .fill_null(0)
        .with_columns(band=pl.sum_horizontal(*[(rate >= low).cast(pl.Int64) for low in BANDS[1:]]))
    )
    figures = ("n_b", "s_b", "n_a", "s_a")
    groups = per_key.group_by("band", "stratum").agg(
        pl.len().alias("members"), *[pl.col(f).sum() for f in figures]
    )
    rows = per_key.filter(pl.col("referrer_key").is_in(list(wanted)))
    return _Window(
        length=window_months(anchor, cut, months),
        rows={
            r["referrer_key"]: (r["band"], r["stratum"], tuple(r[f] for f in figures))
            for r in rows.iter_rows(named=True)
        },
        groups={
            (g["band"], g["stratum"]): (g["members"], tuple(g[f] for f in figures))
            for g in groups.iter_rows(named=True)
        },
    )


def _unit(
    key: str, window: _Window, touched: set[str], strata: Mapping[str, str], months: int
) -> tuple[_Unit | None, int]:
    """The touched referrer's figures beside its comparison group's means (its group less every
    referrer touched over its windows, itself included); None when that leaves nobody."""
    band, stratum, own = window.rows.get(key, (0, strata.get(key), (0, 0, 0, 0)))
    members, sums = window.groups.get((band, stratum), (0, (0, 0, 0, 0)))
    sums = list(sums)
    for other in touched:
        row = window.rows.get(other)
        if row is not None and (row[0], row[1]) == (band, stratum):
            members -= 1
            sums = [total - value for total, value in zip(sums, row[2], strict=True)]
    if members <= 0:
        return None, 0
    n_b, s_b, n_a, s_a = own
    c_n_b, c_s_b, c_n_a, c_s_a = (total / members for total in sums)
    unit = _Unit(
        before=n_b / months,
        after=n_a / window.length,
        n_before=n_b,
        seen_before=s_b,
        n_after=n_a,
        seen_after=s_a,
        c_before=c_n_b / months,
        c_after=c_n_a / window.length,
        c_n_before=c_n_b,
        c_seen_before=c_s_b,
        c_n_after=c_n_a,
        c_seen_after=c_s_a,
    )
    return unit, members


def _share(seen: float, n: float) -> float | None:
    return seen / n if n else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _touched_figures(units: list[_Unit]) -> GroupFigures:
    return GroupFigures(
        referrers=len(units),
        before_per_month=_mean([u.before for u in units]),
        after_per_month=_mean([u.after for u in units]),
        before_conversion=_share(sum(u.seen_before for u in units), sum(u.n_before for u in units)),
        after_conversion=_share(sum(u.seen_after for u in units), sum(u.n_after for u in units)),
    )


def _comparison_figures(units: list[_Unit]) -> GroupFigures:
    return GroupFigures(
        referrers=len(units),  # comparison groups, one per touched referrer
        before_per_month=_mean([u.c_before for u in units]),
        after_per_month=_mean([u.c_after for u in units]),
        before_conversion=_share(
            sum(u.c_seen_before for u in units), sum(u.c_n_before for u in units)
        ),
        after_conversion=_share(
            sum(u.c_seen_after for u in units), sum(u.c_n_after for u in units)
        ),
    )


def _volume_did(units: Sequence[_Unit]) -> float | None:
    return _mean([(u.after - u.before) - (u.c_after - u.c_before) for u in units])


def _conversion_did(units: Sequence[_Unit]) -> float | None:
    """Pooled shares: (touched after - before) - (comparable after - before)."""
    sums = [0.0] * 8
    for u in units:
        for i, value in enumerate(
            (
                u.seen_after,
                u.n_after,
                u.seen_before,
                u.n_before,
                u.c_seen_after,
                u.c_n_after,
                u.c_seen_before,
                u.c_n_before,
            )
        ):
            sums[i] += value
    if not all(sums[1::2]):
        return None
    t_after, t_before, c_after, c_before = (sums[i] / sums[i + 1] for i in range(0, 8, 2))
    return (t_after - t_before) - (c_after - c_before)


def _intervals(units: list[_Unit], resamples: int, seed: int) -> tuple[Interval, Interval]:
    """Volume and conversion, each with its percentile bootstrap interval from the same
    resamples of the matched touched referrers."""
    estimates = (_volume_did, _conversion_did)
    values = [estimate(units) for estimate in estimates]
    if len(units) < MIN_MATCHED:
        return tuple(NONE if v is None else Interval(v, None, None) for v in values)
    rng = random.Random(seed)
    draws: tuple[list[float], list[float]] = ([], [])
    for _ in range(resamples):
        drawn = rng.choices(units, k=len(units))
        for estimate, found in zip(estimates, draws, strict=True):
            value = estimate(drawn)
            if value is not None:
                found.append(value)
    return tuple(_percentiles(v, found, resamples) for v, found in zip(values, draws, strict=True))


def _percentiles(value: float | None, draws: list[float], resamples: int) -> Interval:
    if value is None:
        return NONE
    if len(draws) < resamples * 0.9:  # undefined in too many resamples (conversion)
        return Interval(value, None, None)
    draws.sort()
    low = draws[math.floor(0.025 * len(draws))]
    high = draws[math.ceil(0.975 * len(draws)) - 1]
    return Interval(value, low, high)


def effect_words(interval: Interval, *, unit: str, scale: float = 1.0, digits: int = 1) -> str:
    """The sentence a page shows for one difference-in-differences: worded as an association,
    with its interval, and "not distinguishable from noise" when the interval spans 0."""
    if interval.estimate is None:
        return "Not enough data to compare."
    text = (
        f"Touched referrers changed by {interval.estimate * scale:+.{digits}f} {unit} "
        "relative to comparable untouched referrers over the same months"
    )
    if interval.low is None or interval.high is None:
        return text + " (too few touched referrers for an interval)."
    text += (
        f" (95% interval {interval.low * scale:+.{digits}f} to {interval.high * scale:+.{digits}f})"
    )
    if interval.spans_zero:
        return text + ": not distinguishable from noise."
    return text + ": an association, not proof that the outreach caused it."
