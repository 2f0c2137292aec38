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
- Comparable untouched referrers of a touched one: every other referrer in the facts (a referral
  anywhere in the data) with no touch from the start of its before window to the end of its after
  window, measured over EXACTLY the same days (same calendar months: seasons and the practice's
  own changes fall on both sides alike), and in the same volume band over the before window
  (BANDS, referrals a month) and, when the caller gives `strata` (a trait fixed before the touch,
  such as specialty), the same stratum. Why not the referrer's current segment: it is measured
  after the touch and would carry the touch's own effect. A touched referrer with no comparable
  one is "unmatched" and left out.
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
    comparison_referrers: int  # distinct untouched referrers used
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
    universe = set(days.get_column("referrer_key").unique().to_list())
    anchors = {
        key: min(d for d in dates if start <= d < end)
        for key, dates in touches.items()
        if any(start <= d < end for d in dates) and (treated is None or key in treated)
    }
    units: list[_Unit] = []
    used: set[str] = set()
    too_recent = unmatched = 0
    windows: dict[dt.date, tuple] = {}
    for key, anchor in sorted(anchors.items()):
        cut = min(months_shift(anchor, months), today)
        if (cut - anchor).days < MIN_AFTER_DAYS:
            too_recent += 1
            continue
        if anchor not in windows:
            windows[anchor] = _window_figures(days, universe, anchor, cut, months)
        before, after, length, bands = windows[anchor]
        low = months_shift(anchor, -months)
        touched = {k for k, dates in touches.items() if any(low <= d < cut for d in dates)}
        members = bands.get(band_of(before.get(key, (0, 0))[0] / months), [])
        controls = _comparable(key, members, touched, strata or {})
        if not controls:
            unmatched += 1
            continue
        used.update(controls)
        units.append(_unit(key, controls, before, after, months, length))
    return OutreachEffect(
        start=start,
        end=end,
        months=months,
        touched=len(anchors),
        matched=len(units),
        unmatched=unmatched,
        too_recent=too_recent,
        comparison_referrers=len(used),
        touched_figures=_touched_figures(units),
        comparison_figures=_comparison_figures(units),
        volume=_interval(units, _volume_did, resamples, seed),
        conversion=_interval(units, _conversion_did, resamples, seed),
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


def _counts(days: pl.DataFrame, low: dt.date, high: dt.date) -> dict[str, tuple[int, int]]:
    """Per referrer: (referrals, seen) received on days in [low, high)."""
    rows = (
        days.filter((pl.col("day") >= low) & (pl.col("day") < high))
        .group_by("referrer_key")
        .agg(n=pl.len(), seen=pl.col("seen").sum())
    )
    return {key: (n, seen) for key, n, seen in rows.iter_rows()}


def _window_figures(
    days: pl.DataFrame, universe: set[str], anchor: dt.date, cut: dt.date, months: int
) -> tuple:
    """The before and after counts of every referrer, the after window's length, and the
    referrers of each volume band (by the before window)."""
    before = _counts(days, months_shift(anchor, -months), anchor)
    after = _counts(days, anchor, cut)
    bands: dict[int, list[str]] = {}
    for key in sorted(universe):
        bands.setdefault(band_of(before.get(key, (0, 0))[0] / months), []).append(key)
    return before, after, window_months(anchor, cut, months), bands


def _comparable(
    key: str,
    members: list[str],
    touched: set[str],
    strata: Mapping[str, str],
) -> list[str]:
    """The band's referrers untouched over the windows, in the touched one's stratum."""
    stratum = strata.get(key)
    return [
        other
        for other in members
        if other != key and other not in touched and strata.get(other) == stratum
    ]


def _unit(key, controls, before, after, months: int, length: float) -> _Unit:
    n_b, s_b = before.get(key, (0, 0))
    n_a, s_a = after.get(key, (0, 0))
    size = len(controls)
    c_before = [before.get(c, (0, 0)) for c in controls]
    c_after = [after.get(c, (0, 0)) for c in controls]
    return _Unit(
        before=n_b / months,
        after=n_a / length,
        n_before=n_b,
        seen_before=s_b,
        n_after=n_a,
        seen_after=s_a,
        c_before=sum(n for n, _ in c_before) / size / months,
        c_after=sum(n for n, _ in c_after) / size / length,
        c_n_before=sum(n for n, _ in c_before) / size,
        c_seen_before=sum(s for _, s in c_before) / size,
        c_n_after=sum(n for n, _ in c_after) / size,
        c_seen_after=sum(s for _, s in c_after) / size,
    )


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
    touched, comparison = _touched_figures(list(units)), _comparison_figures(list(units))
    shares = (
        touched.after_conversion,
        touched.before_conversion,
        comparison.after_conversion,
        comparison.before_conversion,
    )
    if any(share is None for share in shares):
        return None
    t_after, t_before, c_after, c_before = shares
    return (t_after - t_before) - (c_after - c_before)


def _interval(units: list[_Unit], estimate, resamples: int, seed: int) -> Interval:
    value = estimate(units)
    if value is None:
        return NONE
    if len(units) < MIN_MATCHED:
        return Interval(value, None, None)
    rng = random.Random(seed)
    n = len(units)
    draws = []
    for _ in range(resamples):
        drawn = estimate([units[rng.randrange(n)] for _ in range(n)])
        if drawn is not None:
            draws.append(drawn)
    if len(draws) < resamples * 0.9:  # conversion undefined in too many resamples
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
