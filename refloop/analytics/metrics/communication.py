"""Communication quality: what referrers send us, and what we send back.

Definitions (a practice manager's words), for the referrals received in the period, judged as of
the scope's as-of moment (see metrics.funnel):
- **Complete on arrival**: the share of referrals that came with every required record, of those
  where it is known (a source that cannot tell is left out of the share).
- **Missing-records rate**: the share that arrived with something missing (1 minus the above).
- **Time to complete records**: for referrals that arrived incomplete and whose last missing
  record came before as_of, the median time from receipt to that record, in calendar days of
  elapsed time (the wait the patient sees, not business time). The others are still missing.
- **Referrer acknowledged within target**: of the referrals whose acknowledgement target was
  judged (met or missed) by as_of, the share met (the clock's own judgement, on net business time).
- **Reports sent** and their **timeliness**: reports sent back by as_of, and of those whose
  report target was judged, the share sent within target; with the median net business time
  from visit to report sent.
Medians use linear interpolation (metrics.cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.metrics.cycle import cycle_times
from refloop.analytics.metrics.funnel import reached, share
from refloop.analytics.scope import Scope

DAY = 86400


@dataclass(frozen=True)
class Communication:
    received: int
    known_on_arrival: int  # referrals whose completeness on arrival is known
    complete_on_arrival: int
    complete_on_arrival_share: float | None
    missing_records: int  # arrived with something missing
    missing_records_rate: float | None
    records_completed: int  # of those, completed by as_of
    still_missing: int
    median_days_to_complete: float | None
    acknowledged_judged: int
    acknowledged_met: int
    acknowledged_within_target: float | None
    reports_sent: int
    report_judged: int
    report_met: int
    report_within_target: float | None
    report_net_median: float | None  # seconds, visit to report sent
    missing_drill: Drill
    still_missing_drill: Drill
    acknowledged_missed_drill: Drill
    reports_sent_drill: Drill
    report_missed_drill: Drill


def arrived_incomplete() -> pl.Expr:
    return pl.col("records_complete_on_arrival").not_()


def communication(facts: pl.DataFrame, scope: Scope) -> Communication:
    rows = scope.cohort(facts)
    completed = arrived_incomplete() & reached("records_complete_at", scope)
    counts = rows.select(
        known=pl.col("records_complete_on_arrival").is_not_null().sum(),
        complete=pl.col("records_complete_on_arrival").sum(),
        missing=arrived_incomplete().sum(),
        completed=completed.sum(),
        days=pl.when(completed)
        .then((pl.col("records_complete_at") - pl.col("received_at")).dt.total_seconds() / DAY)
        .median(),
        sent=reached("report_sent_at", scope).sum(),
    ).row(0, named=True)
    clocks = cycle_times(facts, scope)
    ack, report = clocks.step("acknowledged"), clocks.step("report_sent")
    known, missing = int(counts["known"]), int(counts["missing"] or 0)
    return Communication(
        received=rows.height,
        known_on_arrival=known,
        complete_on_arrival=int(counts["complete"] or 0),
        complete_on_arrival_share=share(int(counts["complete"] or 0), known),
        missing_records=missing,
        missing_records_rate=share(missing, known),
        records_completed=int(counts["completed"] or 0),
        still_missing=missing - int(counts["completed"] or 0),
        median_days_to_complete=counts["days"],
        acknowledged_judged=ack.judged,
        acknowledged_met=ack.met,
        acknowledged_within_target=ack.met_share,
        reports_sent=int(counts["sent"] or 0),
        report_judged=report.judged,
        report_met=report.met,
        report_within_target=report.met_share,
        report_net_median=report.net_median,
        missing_drill=Drill("communication.missing_records", "all"),
        still_missing_drill=Drill("communication.missing_records", "still_missing"),
        acknowledged_missed_drill=Drill("cycle.missed", "acknowledge"),
        reports_sent_drill=Drill("funnel.step", "report_sent"),
        report_missed_drill=Drill("cycle.missed", "report"),
    )


@cohort("communication.missing_records")
def missing_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """Cohort referrals that arrived with records missing ("all"), or still missing at as_of."""
    rows = scope.cohort(facts).filter(arrived_incomplete())
    if arg == "still_missing":
        rows = rows.filter(~reached("records_complete_at", scope))
    return rows
