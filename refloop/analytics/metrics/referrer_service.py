"""How we served each referrer, and whom a liaison should work on first (Django-free).

A referrer's profile answers "how fast did we answer them, and did their reports go back on
time": the same figures the dashboards show for the program (metrics.cycle, metrics.loop_closure),
counted per referrer over the referrers' window (metrics.referrers.window), with the number of
referrals behind each so a page can say when there are too few to read.

Definitions (per referrer key, the referrals received in the window up to as_of)
-------------------------------------------------------------------------------
- **Acknowledgement median**: of the referrals acknowledged by as_of, the median time from
  receipt to acknowledgement in business hours, net of waiting on others (the clock the target
  is judged on; metrics.cycle), linear interpolation. `ack_count` referrals behind it.
- **Acknowledged within target**: of the referrals whose acknowledgement target was judged by
  as_of (metrics.cycle.target_judged), the share met. `ack_judged` behind it.
- **Reports on time**: of the referrals seen whose 14 days after the visit have passed by as_of,
  the share whose report was delivered to the referrer by the 14th day (metrics.loop_closure's
  "report delivered within N days", not CMS50). `reports_judged` behind it.
- A share or median over no referral is None ("no data"), never zero.

Score: who to work on first (`referrer_score`)
----------------------------------------------
In referrals a month at stake, so a large practice that is slipping outranks a small one:
- declining, dormant, or with a drop-off alert: the volume at risk, the referrals a month we
  stand to lose = max(0, previous rate - recent rate), where the recent rate is the last 3
  months' referrals a month and the previous rate the 6 months' before them (the periods of
  metrics.referrers' `recent_change`, each month weighed by the share of it that has passed and
  months before the first referral left out); with a drop-off alert, also (expected - recent
  count) over the alert's recent days, as a month of 30.44 days; the larger of the two.
- growing or new: the opportunity, half the recent rate (keeping a referrer we have is worth
  more than a referral we may win, hence the half).
- steady and occasional: 0 (nothing to act on; lists then order by volume).
The score is an ordering aid, not a forecast: it says where the counts moved, not why.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from refloop.analytics.metrics.cycle import step_done, target_judged
from refloop.analytics.metrics.funnel import reached
from refloop.analytics.metrics.referrers import (
    PREVIOUS_MONTHS,
    RECENT_MONTHS,
    DropOff,
    Referrer,
    window,
)
from refloop.analytics.scope import Scope

REPORT_DAYS = 14  # as the dashboards' "report delivered within 14 days" (metrics.headline)
HOUR = 3600.0
MONTH_DAYS = 30.44
AT_RISK_SEGMENTS = ("declining", "dormant")
OPPORTUNITY_SEGMENTS = ("growing", "new")
OPPORTUNITY_WEIGHT = 0.5

# The fact columns referrer_service reads, besides the referrers' own (a reader asks for these).
SERVICE_COLUMNS = (
    "referrer_key",
    "received_at",
    "acknowledged_at",
    "acknowledged_gross",
    "acknowledged_net",
    "acknowledge_met",
    "ended_at",
    "seen_at",
    "report_delivered_at",
)


@dataclass(frozen=True)
class ReferrerService:
    key: str
    ack_count: int  # acknowledged by as_of
    ack_median_hours: float | None  # business hours, net
    ack_judged: int
    ack_within_target: float | None
    reports_judged: int  # seen, 14 days over
    reports_on_time: float | None  # delivered within 14 days of the visit


def referrer_service(
    facts: pl.DataFrame, scope: Scope, *, months: int
) -> dict[str, ReferrerService]:
    """Each referrer's service figures over the referrers' window (module docstring)."""
    w = window(scope, months)
    received = pl.col("received_at")
    rows = scope.filtered(facts).filter(
        (received >= w.start) & (received < w.as_of) & (pl.col("referrer_key") != "")
    )
    acked = step_done("acknowledged", scope)
    judged = target_judged("acknowledge", scope)
    last_day = _local_day("seen_at", scope) + pl.duration(days=REPORT_DAYS)
    report_judged = reached("seen_at", scope) & (last_day < scope.as_of.astimezone(scope.tz).date())
    delivered = reached("report_delivered_at", scope) & (
        _local_day("report_delivered_at", scope) <= last_day
    )
    grouped = rows.group_by("referrer_key").agg(
        ack_count=acked.sum(),
        ack_median=pl.when(acked).then(pl.col("acknowledged_net")).median(),
        ack_judged=judged.sum(),
        ack_met=(judged & pl.col("acknowledge_met")).sum(),
        reports_judged=report_judged.sum(),
        reports_on_time=(report_judged & delivered).sum(),
    )
    return {
        row["referrer_key"]: ReferrerService(
            key=row["referrer_key"],
            ack_count=int(row["ack_count"]),
            ack_median_hours=row["ack_median"] / HOUR if row["ack_median"] is not None else None,
            ack_judged=int(row["ack_judged"]),
            ack_within_target=_share(row["ack_met"], row["ack_judged"]),
            reports_judged=int(row["reports_judged"]),
            reports_on_time=_share(row["reports_on_time"], row["reports_judged"]),
        )
        for row in grouped.iter_rows(named=True)
    }


def referrer_score(
    referrer: Referrer, alert: DropOff | None, *, exposures: tuple[float, ...]
) -> float:
    """Referrals a month at stake (module docstring); `exposures` are the window's
    (metrics.referrers.Window.exposures), one per month of `referrer.monthly`."""
    at_risk = referrer.segment in AT_RISK_SEGMENTS or alert is not None
    if not (at_risk or referrer.segment in OPPORTUNITY_SEGMENTS):
        return 0.0
    recent, previous = _rates(referrer, exposures)
    if not at_risk:
        return OPPORTUNITY_WEIGHT * (recent or 0.0)
    loss = max(0.0, (previous or 0.0) - (recent or 0.0))
    if alert is not None and alert.recent_days > 0:
        missing = (alert.expected - alert.recent_count) / alert.recent_days * MONTH_DAYS
        loss = max(loss, missing)
    return loss


def _rates(referrer: Referrer, exposures: tuple[float, ...]) -> tuple[float | None, float | None]:
    """Referrals a month in the last 3 months and in the 6 before them, months before the first
    referral's month left out (as metrics.referrers leaves them out of the trend)."""
    starts = referrer.first_referral_on.replace(day=1)
    weights = [
        e if m.month >= starts else 0.0 for m, e in zip(referrer.monthly, exposures, strict=True)
    ]
    counts = [m.count for m in referrer.monthly]

    def rate(part: slice) -> float | None:
        time = sum(weights[part])
        return sum(counts[part]) / time if time > 0 else None

    recent = slice(-RECENT_MONTHS, None)
    previous = slice(-(RECENT_MONTHS + PREVIOUS_MONTHS), -RECENT_MONTHS)
    return rate(recent), rate(previous)


def _share(part, whole) -> float | None:
    return int(part) / int(whole) if whole else None


def _local_day(column: str, scope: Scope) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(str(scope.tz)).dt.date()
