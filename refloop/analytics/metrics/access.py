"""Access: how long patients wait for a visit, how soon the calendar has room, who misses visits.

Definitions
-----------
- Days to appointment: for the referrals received in the period (the scope's cohort) that have a
  visit booked, calendar days from receipt to the visit (the fact table's `days_to_appointment`:
  the attended visit, else the latest one booked), by service line and visit type. We give the
  count, the median and the 90th percentile (linear between the two nearest ranks, as a
  spreadsheet's PERCENTILE.INC). A line's row ("" visit type) pools its visit types; the
  program's row ("" line) pools every line.
- Third next available (IHI): measured once a day per clinician and visit type by the access app
  (calendar days to the third bookable slot, held-for-urgent slots left out). For each line and
  visit type we give the latest day measured in the period, the mean over the clinicians measured
  that day, the mean over every measurement in the period, and how many had fewer than three
  open slots in the horizon (no figure). A line that does not book on Refloop's calendar has no
  measurements: "not measured", never zero.
- No-show rate: of the visits that were due in the period (by the visit's local day, up to
  as_of) and have an outcome (attended or missed), the share missed, with its Wilson 95%
  interval. Cancelled, rebooked and still-booked appointments are not visits that were due. By
  lead time: calendar days (local) from the day it was booked to the day of the visit, in buckets
  0-7, 8-14, 15-30 and 31+. By prior no-shows: how many visits the same patient had missed before
  this one (any referral), 0, 1, or 2+. It needs one row per appointment (APPOINTMENT_SCHEMA):
  an audit of a referral file has none, and then the rates say "not measured" rather than guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.facts import UTC_TIME
from refloop.analytics.metrics.stats import Interval, wilson
from refloop.analytics.scope import Scope

# One row per appointment (the access app's Appointment; analytics.appointments reads them).
APPOINTMENT_SCHEMA: dict[str, pl.DataType] = {
    "referral_id": pl.Int64(),
    "service_line": pl.String(),
    "visit_type": pl.String(),  # "" when booked outside the calendar
    "booked_at": UTC_TIME,
    "starts_at": UTC_TIME,
    "outcome": pl.String(),  # booked, attended, no_show, cancelled, rebooked
    "prior_no_shows": pl.Int32(),  # the patient's missed visits before this one, any referral
}

# One row per daily third-next-available measurement (the access app's ThirdNextAvailable).
TNA_SCHEMA: dict[str, pl.DataType] = {
    "service_line": pl.String(),
    "visit_type": pl.String(),
    "clinician": pl.String(),
    "day": pl.Date(),
    "days": pl.Int32(),  # null: fewer than three bookable slots in the horizon
}

NOT_MEASURED = "not measured"
LEAD_BUCKETS = (("0-7", 0, 7), ("8-14", 8, 14), ("15-30", 15, 30), ("31+", 31, None))
PRIOR_BUCKETS = (("0", 0, 0), ("1", 1, 1), ("2+", 2, None))
VISITS_DUE = ("attended", "no_show")


@dataclass(frozen=True)
class Wait:
    service_line: str  # "" = every line
    visit_type: str  # "" = every visit type
    appointments: int
    median_days: float | None
    p90_days: float | None
    drill: Drill


@dataclass(frozen=True)
class Tna:
    service_line: str
    visit_type: str  # "" = the line's clinicians and visit types together
    status: str  # "measured" or NOT_MEASURED
    measured_on: dt.date | None  # the latest day measured in the period
    mean_days: float | None  # mean over that day's measurements
    period_mean_days: float | None  # mean over every measurement in the period
    measurements: int  # that day's rows with a figure
    short_of_three: int  # that day's rows without one (under three open slots)


@dataclass(frozen=True)
class Rate:
    group: str  # "all", a lead-time bucket ("8-14") or a prior count ("2+")
    visits: int
    no_shows: int
    rate: Interval  # Wilson 95%
    drill: Drill


@dataclass(frozen=True)
class NoShows:
    status: str  # "measured" or NOT_MEASURED
    overall: Rate | None
    by_lead_time: tuple[Rate, ...]
    by_prior_no_shows: tuple[Rate, ...]


@dataclass(frozen=True)
class AccessReport:
    waits: tuple[Wait, ...]
    tna: tuple[Tna, ...]
    no_shows: NoShows


def access(
    facts: pl.DataFrame,
    scope: Scope,
    *,
    appointments: pl.DataFrame | None = None,
    tna: pl.DataFrame | None = None,
) -> AccessReport:
    """The access page's numbers: waits, third next available, no-show rates."""
    lines = scope.cohort(facts)["service_line"].unique().sort().to_list()
    return AccessReport(
        waits=waits(facts, scope),
        tna=third_next_available(tna, scope, lines=lines),
        no_shows=no_shows(appointments, facts, scope),
    )


# Days to appointment ---------------------------------------------------------------------------


def waits(facts: pl.DataFrame, scope: Scope) -> tuple[Wait, ...]:
    """Days to appointment for the period's referrals: the program, each line, each visit type."""
    booked = _with_wait(facts, scope)
    days = pl.col("days_to_appointment")
    stats = (
        pl.len().alias("n"),
        days.median().alias("median"),
        days.quantile(0.9, interpolation="linear").alias("p90"),
    )
    program = booked.select(stats).with_columns(service_line=pl.lit(""), visit_type=pl.lit(""))
    per_line = booked.group_by("service_line").agg(stats).with_columns(visit_type=pl.lit(""))
    per_type = booked.group_by("service_line", "visit_type").agg(stats)
    columns = ["service_line", "visit_type", "n", "median", "p90"]
    rows = pl.concat([program.select(columns), per_line.select(columns), per_type.select(columns)])
    # The program first, then each line followed by its visit types.
    rows = rows.filter((pl.col("n") > 0) | (pl.col("service_line") == "")).sort(
        "service_line", pl.col("visit_type") != "", "visit_type"
    )
    return tuple(
        Wait(line, kind, n, median, p90, Drill("access.waits", f"{line}|{kind}"))
        for line, kind, n, median, p90 in rows.iter_rows()
    )


def _with_wait(facts: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    return scope.cohort(facts).filter(pl.col("days_to_appointment").is_not_null())


@cohort("access.waits")
def wait_referrals(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """The referrals behind a days-to-appointment figure (arg: "<line>|<visit type>", "" = all)."""
    line, _, kind = arg.partition("|")
    rows = _with_wait(facts, scope)
    if line:
        rows = rows.filter(pl.col("service_line") == line)
    if kind:
        rows = rows.filter(pl.col("visit_type") == kind)
    return rows


# Third next available --------------------------------------------------------------------------


def third_next_available(
    tna: pl.DataFrame | None, scope: Scope, *, lines: Iterable[str] = ()
) -> tuple[Tna, ...]:
    """Per line (and visit type) measured in the period; a line in `lines` with no measurement
    is listed as not measured."""
    rows = _tna_in_period(tna, scope)
    measured = set(rows["service_line"].unique().to_list())
    result = []
    for line in sorted(measured | set(lines)):
        if line not in measured:
            result.append(Tna(line, "", NOT_MEASURED, None, None, None, 0, 0))
            continue
        of_line = rows.filter(pl.col("service_line") == line)
        result.append(_tna_summary(line, "", of_line))
        for kind in sorted(of_line["visit_type"].unique().to_list()):
            result.append(_tna_summary(line, kind, of_line.filter(pl.col("visit_type") == kind)))
    return tuple(result)


def _tna_in_period(tna: pl.DataFrame | None, scope: Scope) -> pl.DataFrame:
    if tna is None:
        return pl.DataFrame(schema=TNA_SCHEMA)
    last = min(scope.end - dt.timedelta(days=1), scope.as_of.astimezone(scope.tz).date())
    return tna.filter((pl.col("day") >= scope.start) & (pl.col("day") <= last))


def _tna_summary(line: str, kind: str, rows: pl.DataFrame) -> Tna:
    latest = rows["day"].max()
    that_day = rows.filter(pl.col("day") == latest)["days"]
    return Tna(
        service_line=line,
        visit_type=kind,
        status="measured",
        measured_on=latest,
        mean_days=that_day.mean(),
        period_mean_days=rows["days"].mean(),
        measurements=that_day.count(),
        short_of_three=that_day.null_count(),
    )


# No-shows --------------------------------------------------------------------------------------


def no_shows(appointments: pl.DataFrame | None, facts: pl.DataFrame, scope: Scope) -> NoShows:
    """No-show rates overall, by lead time and by prior no-shows (module docstring)."""
    if appointments is None:
        return NoShows(NOT_MEASURED, None, (), ())
    due = visits_due(appointments, facts, scope)
    overall = _rate(due, "all")
    by_lead = tuple(
        _rate(due.filter(pl.col("lead_bucket") == b), f"lead:{b}") for b, *_ in LEAD_BUCKETS
    )
    by_prior = tuple(
        _rate(due.filter(pl.col("prior_bucket") == b), f"prior:{b}") for b, *_ in PRIOR_BUCKETS
    )
    return NoShows("measured", overall, by_lead, by_prior)


def visits_due(appointments: pl.DataFrame, facts: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """The visits due in the period with an outcome, of referrals that match the scope's filters,
    with their lead-time and prior-no-show buckets."""
    local = scope.tz.key
    starts = pl.col("starts_at")
    chosen = scope.filtered(facts).select("referral_id")
    lead = (
        starts.dt.convert_time_zone(local).dt.date()
        - pl.col("booked_at").dt.convert_time_zone(local).dt.date()
    ).dt.total_days()
    return (
        appointments.filter(
            pl.col("outcome").is_in(VISITS_DUE)
            & (starts >= scope.moment(scope.start))
            & (starts < scope.moment(scope.end))
            & (starts < scope.as_of.astimezone(dt.UTC))
        )
        .join(chosen, on="referral_id", how="semi")
        .with_columns(
            lead_days=lead,
            lead_bucket=_bucket(lead, LEAD_BUCKETS),
            prior_bucket=_bucket(pl.col("prior_no_shows"), PRIOR_BUCKETS),
        )
    )


def _bucket(value: pl.Expr, buckets) -> pl.Expr:
    expression = pl.lit(None, dtype=pl.String)
    for name, low, high in reversed(buckets):
        within = value >= low if high is None else value.is_between(low, high)
        expression = pl.when(within).then(pl.lit(name)).otherwise(expression)
    return expression


def _rate(due: pl.DataFrame, group: str) -> Rate:
    visits = due.height
    missed = due.filter(pl.col("outcome") == "no_show").height
    label = group.partition(":")[2] or group
    return Rate(label, visits, missed, wilson(missed, visits), Drill("access.no_shows", group))


@cohort("access.no_shows")
def no_show_referrals(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """The referrals with a missed visit behind a no-show rate (arg: "all", "lead:8-14",
    "prior:1"). The appointments come in scope.extra["appointments"]; without them, none."""
    appointments = scope.extra.get("appointments")
    if appointments is None:
        return facts.clear()
    due = visits_due(appointments, facts, scope).filter(pl.col("outcome") == "no_show")
    kind, _, bucket = arg.partition(":")
    if kind == "lead":
        due = due.filter(pl.col("lead_bucket") == bucket)
    elif kind == "prior":
        due = due.filter(pl.col("prior_bucket") == bucket)
    return facts.join(due.select("referral_id").unique(), on="referral_id", how="semi")
