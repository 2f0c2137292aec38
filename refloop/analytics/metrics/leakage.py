"""Leakage: two numbers, never added together (DESIGN.md, Metrics).

1. **Never completed** (from the referrals we received): of the referrals received in the period
   (less those cancelled as entered in error, which were never real referrals), the ones that at
   the scope's as-of moment
   - were cancelled before the patient was seen (any reason: the patient declined, could not be
     reached, was seen elsewhere, the no-show limit, the referrer withdrew, insurance ...), or
   - are still open, the patient not seen, more than `open_days` calendar days (default 60)
     after they were received.
   Declined and redirected referrals are not leakage: they were clinical decisions, shown on the
   funnel. The rate is over the same received count.

2. **Outside the network** (from the health system's own clinicians' outbound orders, only when
   that data was imported, OUTBOUND_SCHEMA): of the orders placed in the period (local dates) for
   the scope's service lines, whose performer is known (`performed_in_network` is true or false),
   the share performed outside the network. The other dashboard filters (priority, channel,
   referring practice) describe incoming referrals and do not apply to outbound orders. Without
   outbound data this number is None and shown as "not measured", never as zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.facts import UTC_TIME
from refloop.analytics.metrics.funnel import as_of_utc, ended, humanize, reached, share
from refloop.analytics.scope import Scope

OPEN_DAYS = 60
ENTERED_IN_ERROR = "entered_in_error"
NOT_MEASURED = "not measured"

OUTBOUND_SCHEMA: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "patient_key": pl.String(),  # the same key as the fact table's, where the patient is known
    "ordered_at": UTC_TIME,
    "service_line": pl.String(),  # the specialty ordered, mapped to our service lines
    "performed_in_network": pl.Boolean(),  # null while unknown
    "performer": pl.String(),  # who performed it, as the source names it ("" if unknown)
}


@dataclass(frozen=True)
class LeakagePart:
    kind: str  # "cancelled" or "open_too_long"
    reason: str  # the cancel reason; "" for open_too_long
    label: str
    count: int
    drill: Drill


@dataclass(frozen=True)
class Leakage:
    received: int  # less entered in error
    never_completed: int
    never_completed_rate: float | None
    parts: tuple[LeakagePart, ...]
    open_days: int
    drill: Drill
    # Outside the network: None when no outbound data was given.
    orders: int | None  # orders in the period with a known performer
    outside_network: int | None
    outside_network_rate: float | None
    outside_label: str  # the rate as text, or "not measured"


def _counted(scope: Scope) -> pl.Expr:
    entered_in_error = ended(scope) & (pl.col("outcome_reason") == ENTERED_IN_ERROR)
    return ~entered_in_error


def leak_kind(scope: Scope, open_days: int) -> pl.Expr:
    """ "cancelled", "open_too_long" or null, for each referral at as_of."""
    not_seen = ~reached("seen_at", scope)
    too_old = pl.col("received_at") + dt.timedelta(days=open_days) < as_of_utc(scope)
    return (
        pl.when(not_seen & ended(scope) & (pl.col("state") == "cancelled"))
        .then(pl.lit("cancelled"))
        .when(not_seen & ~ended(scope) & too_old)
        .then(pl.lit("open_too_long"))
    )


def _leaked(facts: pl.DataFrame, scope: Scope, open_days: int) -> pl.DataFrame:
    return (
        scope.cohort(facts)
        .filter(_counted(scope))
        .with_columns(leak=leak_kind(scope, open_days))
        .with_columns(
            leak_reason=pl.when(pl.col("leak") == "cancelled")
            .then(pl.col("outcome_reason").fill_null(""))
            .otherwise(pl.lit(""))
        )
    )


def _parts(rows: pl.DataFrame, open_days: int) -> tuple[LeakagePart, ...]:
    table = (
        rows.filter(pl.col("leak").is_not_null())
        .group_by("leak", "leak_reason")
        .agg(n=pl.len())
        .sort("leak", "n", "leak_reason", descending=[False, True, False])
    )
    return tuple(
        LeakagePart(
            kind=r["leak"],
            reason=r["leak_reason"],
            label=(
                f"Cancelled before a visit: {humanize(r['leak_reason'])}"
                if r["leak"] == "cancelled"
                else f"Open over {open_days} days, not seen"
            ),
            count=r["n"],
            drill=Drill("leakage.never_completed", f"{open_days}:{r['leak']}:{r['leak_reason']}"),
        )
        for r in table.iter_rows(named=True)
    )


def _outside(outbound: pl.DataFrame, scope: Scope) -> tuple[int, int]:
    ordered = pl.col("ordered_at")
    orders = outbound.filter(
        (ordered >= scope.moment(scope.start))
        & (ordered < scope.moment(scope.end))
        & pl.col("performed_in_network").is_not_null()
    )
    if scope.service_lines:
        orders = orders.filter(pl.col("service_line").is_in(list(scope.service_lines)))
    return orders.height, orders.filter(~pl.col("performed_in_network")).height


def leakage(
    facts: pl.DataFrame,
    scope: Scope,
    outbound: pl.DataFrame | None = None,
    *,
    open_days: int = OPEN_DAYS,
) -> Leakage:
    rows = _leaked(facts, scope, open_days)
    never = rows.filter(pl.col("leak").is_not_null()).height
    orders = outside = rate = None
    if outbound is not None:
        orders, outside = _outside(outbound, scope)
        rate = share(outside, orders)
    return Leakage(
        received=rows.height,
        never_completed=never,
        never_completed_rate=share(never, rows.height),
        parts=_parts(rows, open_days),
        open_days=open_days,
        drill=Drill("leakage.never_completed", f"{open_days}::"),
        orders=orders,
        outside_network=outside,
        outside_network_rate=rate,
        outside_label=_outside_label(orders, rate),
    )


def _outside_label(orders: int | None, rate: float | None) -> str:
    if orders is None:
        return NOT_MEASURED
    return "no orders in the period" if rate is None else f"{rate:.1%}"


@cohort("leakage.never_completed")
def never_completed_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """Cohort referrals never completed: arg "60::" for all, "60:cancelled:unable_to_reach" or
    "60:open_too_long:" for one part (60 = open_days)."""
    open_days, kind, reason = arg.split(":")
    rows = _leaked(facts, scope, int(open_days)).filter(pl.col("leak").is_not_null())
    if kind:
        rows = rows.filter((pl.col("leak") == kind) & (pl.col("leak_reason") == reason))
    return rows.select(facts.columns)
