"""The fact table: one row per referral, the only thing any metric reads (DESIGN.md, Metrics).

This module is the contract between the two ways facts are made and everything that reads them:

- in the live app, `analytics.sources` builds the rows from the referral events (by the
  scheduler, never on page load) and keeps them in `ReferralFact`;
- `refloop audit FILE` builds the same rows from a spreadsheet export of any system, without a
  server or a database.

Both hand the metrics a Polars DataFrame with exactly FACT_SCHEMA, so one set of metric code
gives identical numbers for the same referrals. It imports nothing from Django.

What the columns mean
---------------------
Times are UTC. A time is null when the referral has not (yet) reached it. A corrected event
(DESIGN.md: a manager marks it a mistake) counts as if it never happened.

- received_at: when the referral arrived (the sender's time for imports).
- acknowledged_at: the referrer was told we have it (first time).
- accepted_at / decided_at / decision: the last triage decision (accepted, declined or
  redirected) and when it was made; a reconsidered decline is replaced by the later decision.
- first_contact_at: first successful contact with the patient (booking counts as contact).
- booked_at: when the first appointment was booked; appointment_at: when the visit is (the
  attended appointment, else the latest one booked).
- seen_at: the patient was seen (completed); report_sent_at: the report went back (closed);
  report_delivered_at: the referrer's system or office confirmed it arrived.
- ended_at: when the referral ended (declined, redirected, cancelled or closed); null while
  open. state and outcome_reason are the current state and its coded reason.
- records_complete_on_arrival: every required record came with the referral;
  records_complete_at: when the last missing record arrived (null if never missing or never came).
- no_shows: appointments the patient missed.
- last_activity_at: the latest event; an open referral quiet for long is stale.

Durations are whole seconds in the measure of the referral's clocks (DESIGN.md, Clocks):
business seconds on the practice calendar for routine and urgent referrals, elapsed seconds for
stat ones. `<step>_gross` counts all of it, `<step>_net` leaves out the time the referral was
waiting on others (missing records, authorization, the referrer's answer). Null when the step
has not happened. Steps run from received_at (acknowledged, decided, first_contact, booked,
visit) or from seen_at (report_sent, report_delivered).

days_to_appointment: calendar days (fractional) from received_at to appointment_at.

`<target>_met`: whether the service line's target of that kind was met, judged as the live clock
judges it (each on its own span: first contact counts from acceptance; the appointment target in
calendar days on the appointment's date, net of waiting). Null when the target does not apply or
is still running.

`seconds_in_<state>` and `waiting_<blocker>_seconds`: time spent in each open state and with
each waiting blocker open, gross, in the clock's measure (bottlenecks).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    starts: str  # the time column the step counts from
    ends: str


# Cycle-time steps, in the order a referral meets them (issue: "cycle times per step").
STEPS = (
    Step("acknowledged", "Received to referrer acknowledged", "received_at", "acknowledged_at"),
    Step("decided", "Received to triage decision", "received_at", "decided_at"),
    Step("first_contact", "Received to first patient contact", "received_at", "first_contact_at"),
    Step("booked", "Received to booked", "received_at", "booked_at"),
    Step("visit", "Received to visit", "received_at", "appointment_at"),
    Step("report_sent", "Visit to report sent", "seen_at", "report_sent_at"),
    Step("report_delivered", "Visit to report delivered", "seen_at", "report_delivered_at"),
)

# Target kinds (directory.enums.TargetKind values; repeated here to stay free of Django).
TARGET_KINDS = ("acknowledge", "triage", "first_contact", "appointment", "report")
OPEN_STATES = ("received", "triage", "accepted", "scheduled", "no_show", "completed")
WAITING_BLOCKERS = ("missing_records", "authorization_pending", "info_requested")

TIME_COLUMNS = (
    "received_at",
    "acknowledged_at",
    "accepted_at",
    "decided_at",
    "first_contact_at",
    "booked_at",
    "appointment_at",
    "seen_at",
    "report_sent_at",
    "report_delivered_at",
    "ended_at",
    "records_complete_at",
    "last_activity_at",
)

FACT_SCHEMA: dict[str, pl.DataType] = {
    "referral_id": pl.Int64(),
    # Who the patient is, for "each patient's first referral" (CMS50); no name, no MRN shown.
    "patient_key": pl.String(),
    "service_line": pl.String(),
    "priority": pl.String(),
    "channel": pl.String(),
    "referrer_key": pl.String(),  # the referring clinician (NPI where known); "" if unknown
    "referrer_name": pl.String(),
    "practice": pl.String(),  # the referring organization; "" if unknown
    "visit_type": pl.String(),
    "state": pl.String(),
    "decision": pl.String(),
    "outcome_reason": pl.String(),
    **{name: UTC_TIME for name in TIME_COLUMNS},
    "records_complete_on_arrival": pl.Boolean(),
    "no_shows": pl.Int32(),
    **{f"{step.name}_{kind}": pl.Int64() for step in STEPS for kind in ("gross", "net")},
    "days_to_appointment": pl.Float64(),
    **{f"{kind}_met": pl.Boolean() for kind in TARGET_KINDS},
    **{f"seconds_in_{state}": pl.Int64() for state in OPEN_STATES},
    **{f"waiting_{kind}_seconds": pl.Int64() for kind in WAITING_BLOCKERS},
}


def facts_empty() -> pl.DataFrame:
    return pl.DataFrame(schema=FACT_SCHEMA)


def facts_conform(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with exactly FACT_SCHEMA's columns, in order and type (missing ones null)."""
    return frame.select(
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in FACT_SCHEMA.items()
    )


# What a source (the events, a file) gives the fact builder: everything above except the
# durations, target judgements and time-in-state, which `facts_build` computes on one calendar.
MILESTONE_COLUMNS = tuple(FACT_SCHEMA)[: tuple(FACT_SCHEMA).index("no_shows") + 1]
