"""Loop closure: did the referrer get the consult report back?

CMS50 (Closing the Referral Loop: Receipt of Specialist Report), for a calendar year
-------------------------------------------------------------------------------------
- **Denominator**: patients, each counted once by their FIRST referral received from January 1 to
  October 31 of the year (dates in the practice's time zone). First means the earliest
  `received_at`; two referrals of the same patient received at the very same moment are broken by
  the lower referral id (the one recorded first). Later referrals of the same patient in the year
  are not counted. A referral whose patient is unknown (no patient key) cannot be matched to a
  patient, so it is left out and counted as `unmatched`.
- **Numerator**: those first referrals whose report was delivered to the referrer (delivery
  confirmed, or read in the portal) by December 31 of the year, 23:59:59 local time. A report
  sent but never confirmed as delivered does not count (DESIGN.md: `closed` is not CMS50).
- For a year still running (as_of before year end), only referrals received before as_of count
  (a patient's first referral is the first known then) and a report counts only if delivered
  before as_of; the rate is provisional.
- The measure is the whole program's (no dashboard filters): CMS50 is counted per patient over
  everything the practice received. This is the "first referral during the first 10 months of
  the measurement period" of the CMS50 specification.
- **By referrer**: CMS50 holds the referring clinician accountable, so each referrer's rate counts
  that referrer's own first referral of each patient (a patient referred by two clinicians counts
  once for each). A referral with no known referrer is grouped as "Unknown referrer".

Monthly views: "report delivered within N days" (NOT CMS50)
-----------------------------------------------------------
Of the cohort's referrals whose patient was seen before as_of and whose N days after the visit
have passed by as_of, the share whose report was delivered by the Nth calendar day after the
visit's day (local dates: seen on March 1, N = 14, delivered on March 15 at any hour counts,
whatever daylight saving did in between). Visits whose N days are still running (the Nth day has
not ended by as_of) are shown as pending, not counted. The label says it is not CMS50: it counts
every referral of the month's cohort (not each patient's first of the year) over a short window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.metrics.funnel import reached, share
from refloop.analytics.scope import Scope


@dataclass(frozen=True)
class ReferrerLoopClosure:
    referrer_key: str  # "" for referrals whose referrer is unknown
    referrer_name: str
    denominator: int
    numerator: int
    rate: float | None
    drill: Drill  # this referrer's open loops


@dataclass(frozen=True)
class LoopClosureCMS50:
    year: int
    denominator: int  # patients with a first referral received Jan 1 - Oct 31
    numerator: int  # of those, report delivered to the referrer by Dec 31
    rate: float | None
    unmatched: int  # referrals in the window with no patient key (left out)
    provisional: bool  # the year was not over at as_of
    label: str
    denominator_drill: Drill  # the first referrals counted
    drill: Drill  # the first referrals whose loop was not closed
    by_referrer: tuple[ReferrerLoopClosure, ...]  # most patients first


@dataclass(frozen=True)
class LoopClosedWithin:
    days: int
    seen: int  # cohort referrals seen by as_of
    judged: int  # of those, N days after the visit have passed by as_of
    delivered_within: int
    rate: float | None
    pending: int  # seen, N days not yet over
    label: str
    drill: Drill  # judged but report not delivered within N days


def _local_start(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tz).astimezone(dt.UTC)


def _window(year: int, tz, before: dt.datetime | None = None) -> pl.Expr:
    start, stop = _local_start(dt.date(year, 1, 1), tz), _local_start(dt.date(year, 11, 1), tz)
    if before is not None:
        stop = min(stop, before.astimezone(dt.UTC))
    return (pl.col("received_at") >= start) & (pl.col("received_at") < stop)


def cms50_first_referrals(
    facts: pl.DataFrame,
    *,
    year: int,
    tz,
    per: tuple[str, ...] = ("patient_key",),
    before: dt.datetime | None = None,
) -> pl.DataFrame:
    """Each patient's first referral received Jan 1 - Oct 31 of the year (the denominator), of
    those received `before` (while the year runs: as_of); per=("referrer_key", "patient_key")
    gives each referrer's own first referral of each patient, as CMS50 counts it for the
    referring clinician."""
    known = facts.filter(
        _window(year, tz, before)
        & pl.col("patient_key").is_not_null()
        & (pl.col("patient_key") != "")
    )
    return known.sort("received_at", "referral_id").unique(
        list(per), keep="first", maintain_order=True
    )


def _closed_by(year: int, tz, as_of: dt.datetime | None) -> tuple[dt.datetime, bool]:
    year_end = _local_start(dt.date(year + 1, 1, 1), tz)
    if as_of is not None and as_of.astimezone(dt.UTC) < year_end:
        return as_of.astimezone(dt.UTC), True
    return year_end, False


def _delivered_by(by: dt.datetime) -> pl.Expr:
    return pl.col("report_delivered_at").is_not_null() & (pl.col("report_delivered_at") < by)


def _by_referrer(facts: pl.DataFrame, year: int, tz, by) -> tuple[ReferrerLoopClosure, ...]:
    firsts = cms50_first_referrals(
        facts, year=year, tz=tz, per=("referrer_key", "patient_key"), before=by
    )
    table = (
        firsts.with_columns(pl.col("referrer_key").fill_null(""))
        .group_by("referrer_key")
        .agg(
            name=pl.col("referrer_name").drop_nulls().first(),
            denominator=pl.len(),
            numerator=_delivered_by(by).sum(),
        )
        .sort("denominator", "referrer_key", descending=[True, False])
    )
    return tuple(
        ReferrerLoopClosure(
            referrer_key=r["referrer_key"],
            referrer_name=r["name"] or ("" if r["referrer_key"] else "Unknown referrer"),
            denominator=r["denominator"],
            numerator=r["numerator"],
            rate=share(r["numerator"], r["denominator"]),
            drill=Drill("loop.cms50", f"{year}:open:{r['referrer_key']}"),
        )
        for r in table.iter_rows(named=True)
    )


def loop_closure_cms50(
    facts: pl.DataFrame, *, year: int, tz, as_of: dt.datetime | None = None
) -> LoopClosureCMS50:
    """CMS50 for the year (module docstring). Pass the page's as_of while the year runs; the
    drills judge at the drill scope's as_of, so give them the same one."""
    by, provisional = _closed_by(year, tz, as_of)
    firsts = cms50_first_referrals(facts, year=year, tz=tz, before=by)
    numerator = firsts.filter(_delivered_by(by)).height
    unknown = pl.col("patient_key").is_null() | (pl.col("patient_key") == "")
    return LoopClosureCMS50(
        year=year,
        denominator=firsts.height,
        numerator=numerator,
        rate=share(numerator, firsts.height),
        unmatched=facts.filter(_window(year, tz, by) & unknown).height,
        provisional=provisional,
        label=f"Loop closure (CMS50), {year}" + (" — year not over" if provisional else ""),
        denominator_drill=Drill("loop.cms50", f"{year}:all:"),
        drill=Drill("loop.cms50", f"{year}:open:"),
        by_referrer=_by_referrer(facts, year, tz, by),
    )


@cohort("loop.cms50")
def cms50_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """The first referrals of CMS50 year: arg "2025:all:" (the denominator), "2025:open:" (report
    not delivered by Dec 31, or by the scope's as_of while the year runs), "2025:open:<referrer
    key>" (one referrer's, counted per referrer)."""
    year, which, referrer = arg.split(":", 2)
    per = ("referrer_key", "patient_key") if referrer else ("patient_key",)
    by, _ = _closed_by(int(year), scope.tz, scope.as_of)
    firsts = cms50_first_referrals(facts, year=int(year), tz=scope.tz, per=per, before=by)
    if referrer:
        firsts = firsts.filter(pl.col("referrer_key") == referrer)
    if which == "open":
        firsts = firsts.filter(~_delivered_by(by))
    return firsts


def _local_day(column: str, scope: Scope) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(str(scope.tz)).dt.date()


def _within(scope: Scope, days: int) -> dict[str, pl.Expr]:
    last_day = _local_day("seen_at", scope) + pl.duration(days=days)
    seen = reached("seen_at", scope)
    judged = seen & (last_day < scope.as_of.astimezone(scope.tz).date())
    delivered = reached("report_delivered_at", scope) & (
        _local_day("report_delivered_at", scope) <= last_day
    )
    return {"seen": seen, "judged": judged, "within": judged & delivered}


def loop_closed_within(facts: pl.DataFrame, scope: Scope, *, days: int = 14) -> LoopClosedWithin:
    exprs = _within(scope, days)
    row = scope.cohort(facts).select(e.sum().alias(k) for k, e in exprs.items()).row(0, named=True)
    seen, judged, within = (int(row[k] or 0) for k in ("seen", "judged", "within"))
    return LoopClosedWithin(
        days=days,
        seen=seen,
        judged=judged,
        delivered_within=within,
        rate=share(within, judged),
        pending=seen - judged,
        label=f"Report delivered within {days} days of the visit (not CMS50)",
        drill=Drill("loop.not_within", str(days)),
    )


@cohort("loop.not_within")
def not_within_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """Cohort referrals seen, N=`arg` days over, report not delivered within them."""
    exprs = _within(scope, int(arg))
    return scope.cohort(facts).filter(exprs["judged"] & ~exprs["within"])
