"""The fact builder: milestones + waiting + states + targets -> the fact table (Django-free).

`facts_build` is the one place business time is computed for metrics (DESIGN.md, Metrics). The
live app (analytics.sources, from the referral tables) and `refloop audit` (from a file) both call
it, so the two give identical rows for the same referrals. Everything is done on whole columns:
each moment is turned once into a position on the calendar's timeline (core.calendar.Timeline),
and every duration, overlap and target judgement is a difference of positions.

The rules, as the live clocks have them (referrals.clocks.ClockBook):

- Measure: a referral's steps count business seconds on the practice calendar, stat referrals
  elapsed seconds. A target counts in its own measure: elapsed for stat referrals and for
  calendar-day targets (days to appointment), business seconds otherwise.
- Waiting: the referral waits on others while at least one waiting blocker (missing records,
  authorization, the referrer's answer) is open. Blockers that overlap count once (their union);
  a blocker still open is open until the referral ended, or until `as_of`.
- Net = gross minus the waiting inside the span, each waiting stretch floored to whole seconds
  on its own (a clock adds up its pauses that way), never below zero.
- Targets: acknowledge runs from received to the referrer acknowledged; triage from received to
  the first triage decision; first contact from acceptance to the first contact after it (a
  booking counts); appointment from received to the first booking, met when the appointment is
  on or before the due time (received + target + the waiting before the booking, calendar
  time); report from the visit (seen) to the report sent.
  A target is judged when it finishes: met if its net time is within the target. A referral
  that ends (declined, redirected, cancelled, closed) stops its running targets: one already
  late is missed (False), the rest never finished (null). A decline stops them even when it is
  reconsidered later (the live clock does not restart them); only a target that starts after
  the decline (first contact, report) runs again. A target still running at `as_of` is null.
- Steps run as analytics.facts says; the visit step (received to the appointment) counts only
  once the patient was seen (a booked visit still ahead has not happened).
- Time in state and in each waiting blocker is gross, in the referral's measure, up to `as_of`.

Days to appointment is judged at the first booking, against the appointment that booking was
for (the optional milestone column `first_appointment_at`; a source that lacks it, a file, is
judged on `appointment_at`). Given `bookings`, an appointment cancelled back to accepted
reopens the target (unless missed) and the next booking judges it again, as the live clock does.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from refloop.analytics.facts import (
    MILESTONE_COLUMNS,
    OPEN_STATES,
    STEPS,
    TARGET_KINDS,
    UTC_TIME,
    WAITING_BLOCKERS,
    facts_conform,
)
from refloop.core.calendar import MICRO, BusinessCalendar, micros, span_seconds, timeline_for

STAT = "stat"
CALENDAR_DAYS = "calendar_days"
DAY_MICROS = 86400 * MICRO
WAITING_COLUMNS = {"referral_id": pl.Int64(), "kind": pl.String(), "started_at": UTC_TIME,
                   "ended_at": UTC_TIME}  # fmt: skip
STATE_COLUMNS = {"referral_id": pl.Int64(), "state": pl.String(), "started_at": UTC_TIME,
                 "ended_at": UTC_TIME}  # fmt: skip
TARGET_COLUMNS = {"service_line": pl.String(), "priority": pl.String(), "kind": pl.String(),
                  "seconds": pl.Int64(), "unit": pl.String()}  # fmt: skip

BOOKING_COLUMNS = {"referral_id": pl.Int64(), "at": UTC_TIME, "cancelled": pl.Boolean(),
                   "appointment_at": UTC_TIME}  # fmt: skip

# Optional in the milestones: the appointment the first booking was for (the live clock judges
# days to appointment at that booking; a later rebooking after a no-show does not change it).
# Without it, appointment_at is judged.
FIRST_APPOINTMENT = "first_appointment_at"

# Each target: the column its clock starts at (where it finishes: _with_clock_spans).
CLOCK_STARTS = {
    "acknowledge": "received_at",
    "triage": "received_at",
    "first_contact": "accepted_at",
    "appointment": "received_at",
    "report": "seen_at",
}


def facts_build(
    milestones: pl.DataFrame,
    *,
    waiting: pl.DataFrame | None,
    states: pl.DataFrame | None,
    targets: pl.DataFrame,
    calendar: BusinessCalendar,
    as_of: dt.datetime,
    bookings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The fact rows (FACT_SCHEMA) of the referrals in `milestones` (MILESTONE_COLUMNS).

    waiting: (referral_id, kind, started_at, ended_at) waiting-blocker intervals, ended_at null
    while open; None when the source knows none (then net = gross, waiting_* null).
    states: (referral_id, state, started_at, ended_at) state intervals; None when unknown (then
    seconds_in_* null, and a reconsidered decline cannot be seen).
    targets: (service_line, priority, kind, seconds, unit) the response targets.
    bookings: optional (referral_id, at, cancelled, appointment_at): each booking made from
    accepted (cancelled False, with the appointment it was for) and each appointment cancelled
    back to accepted (cancelled True); with it, days to appointment is judged again after a
    cancellation, as the live clock does."""
    as_of = as_of.astimezone(dt.UTC)
    if bookings is not None:
        bookings = bookings.cast(BOOKING_COLUMNS)
    frame = _prepared(milestones, states, bookings)
    frame = _with_targets(frame, targets)
    frame = _with_clock_spans(frame)
    intervals = _waiting_union(_intervals(waiting, WAITING_COLUMNS), frame, as_of)
    timeline = timeline_for(calendar, *_moments(frame, intervals), pl.Series([as_of]))
    frame = _measured(frame, _spans(), intervals, timeline)
    frame = _judged(frame)
    if bookings is not None:
        frame = _rebooked(frame, bookings, intervals, as_of)
    frame = frame.with_columns(
        days_to_appointment=(micros(frame["appointment_at"]) - micros(frame["received_at"]))
        / DAY_MICROS
    )
    frame = frame.join(
        _time_in(_intervals(states, STATE_COLUMNS), frame, "state", OPEN_STATES, "seconds_in_{}",
                 timeline, as_of),
        on="referral_id", how="left",
    )  # fmt: skip
    frame = frame.join(
        _time_in(_intervals(waiting, WAITING_COLUMNS), frame, "kind", WAITING_BLOCKERS,
                 "waiting_{}_seconds", timeline, as_of),
        on="referral_id", how="left",
    )  # fmt: skip
    return facts_conform(_zero_filled(frame, states, waiting))


# Inputs ---------------------------------------------------------------------------------------


def _intervals(frame: pl.DataFrame | None, schema: dict) -> pl.DataFrame | None:
    if frame is None:
        return None
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def _prepared(milestones: pl.DataFrame, states, bookings) -> pl.DataFrame:
    """Milestones plus what the clocks need: stat or not, the first decline (a reconsidered
    decline still stopped the clocks), the visit only once the patient was seen, the first
    booking's appointment (given, or from the bookings)."""
    first_booked = (
        milestones[FIRST_APPOINTMENT].cast(UTC_TIME)
        if FIRST_APPOINTMENT in milestones.columns
        else pl.lit(None, UTC_TIME)
    )
    frame = facts_conform(milestones).with_columns(first_booked.alias(FIRST_APPOINTMENT))
    frame = frame.select(*MILESTONE_COLUMNS, FIRST_APPOINTMENT).with_columns(
        stat=pl.col("priority") == STAT
    )
    if bookings is not None:
        first = (
            bookings.filter(~pl.col("cancelled"))
            .sort("at")
            .group_by("referral_id")
            .agg(booked_for=pl.col("appointment_at").first())
        )
        frame = (
            frame.join(first, on="referral_id", how="left")
            .with_columns(pl.coalesce(FIRST_APPOINTMENT, "booked_for").alias(FIRST_APPOINTMENT))
            .drop("booked_for")
        )
    declines = (
        _intervals(states, STATE_COLUMNS)
        .filter(pl.col("state") == "declined")
        .group_by("referral_id")
        .agg(first_decline_at=pl.col("started_at").min())
        if states is not None
        else pl.DataFrame(schema={"referral_id": pl.Int64(), "first_decline_at": UTC_TIME})
    )
    return frame.join(declines, on="referral_id", how="left").with_columns(
        visit_at=pl.when(pl.col("seen_at").is_not_null()).then(pl.col("appointment_at"))
    )


def _with_targets(frame: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    targets = _intervals(targets, TARGET_COLUMNS).filter(pl.col("kind").is_in(TARGET_KINDS))
    wide = targets.group_by("service_line", "priority").agg(
        expr
        for kind in TARGET_KINDS
        for expr in (
            pl.col("seconds").filter(pl.col("kind") == kind).first().alias(f"target_{kind}"),
            (pl.col("unit").filter(pl.col("kind") == kind).first() == CALENDAR_DAYS).alias(
                f"calendar_days_{kind}"
            ),
        )
    )
    return frame.join(wide, on=["service_line", "priority"], how="left").with_columns(
        (pl.col("stat") | pl.col(f"calendar_days_{kind}").fill_null(False)).alias(f"elapsed_{kind}")
        for kind in TARGET_KINDS
    )


def _with_clock_spans(frame: pl.DataFrame) -> pl.DataFrame:
    """For each target: when its clock started, finished (if it did), and stopped."""
    first_decision = pl.min_horizontal("decided_at", "first_decline_at")
    # Booking is contact; a contact before the clock started (during triage) does not stop it.
    contact = pl.when(pl.col("first_contact_at") >= pl.col("accepted_at")).then(
        pl.col("first_contact_at")
    )
    finishes = {
        "acknowledge": pl.col("acknowledged_at"),
        "triage": first_decision,
        "first_contact": pl.min_horizontal(contact, pl.col("booked_at")),
        "appointment": pl.col("booked_at"),
        "report": pl.col("report_sent_at"),
    }
    columns = []
    for kind in TARGET_KINDS:
        start, finish = pl.col(CLOCK_STARTS[kind]), finishes[kind]
        decline = pl.col("first_decline_at")
        halt = pl.when(decline >= start).then(decline).otherwise(pl.col("ended_at"))
        finished = start.is_not_null() & finish.is_not_null() & (halt.is_null() | (finish <= halt))
        columns += [
            start.alias(f"clock_{kind}_start"),
            finished.alias(f"clock_{kind}_finished"),
            pl.when(start.is_null())
            .then(None)
            .when(finished)
            .then(finish)
            .otherwise(halt)
            .alias(f"clock_{kind}_stop"),
        ]
    return frame.with_columns(columns)


# Spans and their durations -------------------------------------------------------------------


def _spans() -> list[tuple[str, str, str, str]]:
    """(name, start column, end column, column saying the span counts elapsed time)."""
    steps = [
        (step.name, step.starts, "visit_at" if step.name == "visit" else step.ends, "stat")
        for step in STEPS
    ]
    clocks = [
        (f"clock_{kind}", f"clock_{kind}_start", f"clock_{kind}_stop", f"elapsed_{kind}")
        for kind in TARGET_KINDS
    ]
    return steps + clocks


def _moments(frame: pl.DataFrame, intervals: pl.DataFrame) -> list[pl.Series]:
    columns = {column for _, start, end, _ in _spans() for column in (start, end)}
    return [frame[c] for c in sorted(columns)] + [intervals["started_at"], intervals["ended_at"]]


def _waiting_union(
    waiting: pl.DataFrame | None, frame: pl.DataFrame, as_of: dt.datetime
) -> pl.DataFrame:
    """The stretches each referral waited on others: overlapping blockers merged, open ones
    closed at the referral's end or as_of. Blockers that only touch stay apart, as the live
    clock resumes and pauses again at that moment."""
    if waiting is None:
        return pl.DataFrame(schema=STATE_COLUMNS).drop("state")
    clipped = _clipped(waiting, frame, as_of).sort("referral_id", "started_at")
    # The latest end so far within the referral (a window per referral is slow with many
    # referrals: one running maximum over (referral, end) pairs packed into 128 bits does it).
    high = pl.col("referral_id").cast(pl.Int128) * (1 << 64)
    reach = (high + pl.col("ended_at").dt.epoch("us")).cum_max().shift(1) - high
    same = pl.col("referral_id") == pl.col("referral_id").shift(1)
    new_stretch = ~same.fill_null(False) | (pl.col("started_at").dt.epoch("us") >= reach)
    return (
        clipped.with_columns(stretch=new_stretch.cum_sum())
        .group_by("referral_id", "stretch")
        .agg(started_at=pl.col("started_at").min(), ended_at=pl.col("ended_at").max())
        .drop("stretch")
    )


def _clipped(intervals: pl.DataFrame, frame: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """Intervals ending at the latest when the referral ended, or at as_of; empty ones dropped."""
    ends = frame.select("referral_id", until=pl.coalesce("ended_at", pl.lit(as_of, UTC_TIME)))
    return (
        intervals.join(ends, on="referral_id", how="inner")
        .with_columns(
            ended_at=pl.min_horizontal(
                pl.coalesce("ended_at", "until"), "until", pl.lit(as_of, UTC_TIME)
            )
        )
        .filter(pl.col("ended_at") > pl.col("started_at"))
        .drop("until")
    )


def _measured(frame, spans, intervals, timeline) -> pl.DataFrame:
    """`<span>_gross`, `<span>_paused` (waiting inside, floored per stretch) and `<span>_net`."""
    positions = {}
    for column in {c for _, start, end, _ in spans for c in (start, end)}:
        positions[column] = (timeline.position(frame[column]), micros(frame[column]))
    ends = {}
    for name, start, end, elapsed in spans:
        for side, column in (("s", start), ("e", end)):
            business, clock = positions[column]
            ends[f"{name}:{side}"] = pl.when(pl.col(elapsed)).then(clock).otherwise(business)
    frame = frame.with_columns(**ends)
    frame = frame.with_columns(
        span_seconds(pl.col(f"{name}:e") - pl.col(f"{name}:s")).alias(f"{name}_gross")
        for name, *_ in spans
    )
    paused = _paused(frame, spans, intervals, timeline)
    frame = frame.join(paused, on="referral_id", how="left")
    return frame.with_columns(
        expr
        for name, *_ in spans
        for expr in (
            pl.col(f"{name}_paused").fill_null(0),
            (pl.col(f"{name}_gross") - pl.col(f"{name}_paused").fill_null(0))
            .clip(0, None)
            .alias(f"{name}_net"),
        )
    )


def _paused(frame, spans, intervals, timeline) -> pl.DataFrame:
    stretches = intervals.with_columns(
        **{
            "b:s": timeline.position(intervals["started_at"]),
            "b:e": timeline.position(intervals["ended_at"]),
            "u:s": micros(intervals["started_at"]),
            "u:e": micros(intervals["ended_at"]),
        }
    ).drop("started_at", "ended_at")
    picked = ["referral_id"] + [
        column for name, _, _, elapsed in spans for column in (f"{name}:s", f"{name}:e", elapsed)
    ]
    joined = stretches.join(frame.select(list(dict.fromkeys(picked))), on="referral_id")

    def overlap(name, elapsed):
        side = {s: pl.when(pl.col(elapsed)).then(pl.col(f"u:{s}")).otherwise(pl.col(f"b:{s}"))
                for s in ("s", "e")}  # fmt: skip
        inside = pl.min_horizontal(side["e"], pl.col(f"{name}:e")) - pl.max_horizontal(
            side["s"], pl.col(f"{name}:s")
        )
        # min/max_horizontal skip nulls: a span that has not ended waits nothing (yet).
        ended = pl.col(f"{name}:s").is_not_null() & pl.col(f"{name}:e").is_not_null()
        return pl.when(ended).then(span_seconds(inside)).fill_null(0).sum().alias(f"{name}_paused")

    return joined.group_by("referral_id").agg(
        overlap(name, elapsed) for name, _, _, elapsed in spans
    )


# Target judgements ---------------------------------------------------------------------------


def _judged(frame: pl.DataFrame) -> pl.DataFrame:
    columns = []
    for kind in TARGET_KINDS:
        target, net = pl.col(f"target_{kind}"), pl.col(f"clock_{kind}_net")
        if kind == "appointment":
            # The appointment's date counts, against the due time moved on by the waiting.
            due = (target + pl.col(f"clock_{kind}_paused")) * MICRO
            judged = pl.coalesce(FIRST_APPOINTMENT, "appointment_at")
            waited = judged.dt.epoch("us") - pl.col("received_at").dt.epoch("us")
            on_time = waited <= due
        else:
            on_time = net <= target
        late = net > target
        columns.append(
            pl.when(target.is_null() | pl.col(f"clock_{kind}_stop").is_null())
            .then(None)
            .when(pl.col(f"clock_{kind}_finished"))
            .then(on_time)
            .when(late)
            .then(False)
            .otherwise(None)
            .alias(f"{kind}_met")
        )
    return frame.with_columns(columns)


def _rebooked(frame, bookings, intervals, as_of) -> pl.DataFrame:
    """Days to appointment where an appointment was cancelled back to accepted: the live clock
    reopens unless it was missed (a clock stopped by a decline that was reconsidered reopens
    too) and judges again at the next booking, the due time moved on by the waiting while it
    ran; a clock reopened and never booked again is judged when the referral ends (missed if
    late) or still runs (null)."""
    first_cancel = (
        bookings.filter(pl.col("cancelled"))
        .group_by("referral_id")
        .agg(first_cancel=pl.col("at").min())
    )
    judged = frame.join(first_cancel, on="referral_id").filter(
        pl.col("clock_appointment_stop").is_not_null()
        & pl.col("target_appointment").is_not_null()
        & (pl.col("appointment_met").is_null() | pl.col("appointment_met"))  # missed stays
    )
    if judged.is_empty():
        return frame
    judged = judged.select(
        "referral_id", "received_at", "ended_at", "first_cancel",
        target="target_appointment", paused_before="clock_appointment_paused",
    )  # fmt: skip
    # From the first reopening on, each booking follows a cancellation.
    rows = (
        bookings.join(judged, on="referral_id")
        .filter(pl.col("at") >= pl.col("first_cancel"))
        .sort("referral_id", "at")
    )
    last = (pl.col("referral_id") != pl.col("referral_id").shift(-1)).fill_null(True)
    until = pl.coalesce("ended_at", pl.lit(as_of, UTC_TIME))
    rows = rows.with_row_index("row").with_columns(
        # The stretch the clock ran up to this row: from the cancellation before a booking; a
        # last cancellation runs to the end (or as_of).
        seg_start=pl.when(~pl.col("cancelled")).then(pl.col("at").shift(1)).when(last).then("at"),
        seg_end=pl.when(~pl.col("cancelled")).then("at").when(last).then(until),
        last=last,
    )
    waited = (
        intervals.join(rows.select("referral_id", "row", "seg_start", "seg_end"), on="referral_id")
        .with_columns(
            # (min/max_horizontal skip nulls: a row without a stretch must count nothing)
            inside=pl.when(pl.col("seg_start").is_not_null())
            .then(
                span_seconds(
                    pl.min_horizontal("ended_at", "seg_end").dt.epoch("us")
                    - pl.max_horizontal("started_at", "seg_start").dt.epoch("us")
                )
            )
            .fill_null(0)
        )
        .group_by("row")
        .agg(pl.col("inside").sum())
    )
    rows = rows.join(waited, on="row", how="left").with_columns(pl.col("inside").fill_null(0))
    # Waiting so far: before the first stop, plus the stretches run since (rows are sorted by
    # referral: a running sum less the sum before the referral's first row).
    rows = rows.with_columns(total=pl.col("inside").cum_sum())
    firsts = rows.group_by("referral_id").agg(before=(pl.col("total") - pl.col("inside")).first())
    rows = rows.join(firsts, on="referral_id").with_columns(
        paused=pl.col("paused_before") + pl.col("total") - pl.col("before")
    )
    since_receipt = pl.col("appointment_at").dt.epoch("us") - pl.col("received_at").dt.epoch("us")
    on_time = since_receipt <= (pl.col("target") + pl.col("paused")) * MICRO
    gross = span_seconds(until.dt.epoch("us") - pl.col("received_at").dt.epoch("us"))
    late_at_end = (gross - pl.col("paused")).clip(0, None) > pl.col("target")
    outcome = rows.group_by("referral_id").agg(
        missed=(~pl.col("cancelled") & ~on_time).any(),
        reopened=pl.col("cancelled").filter(pl.col("last")).any(),
        late_at_end=late_at_end.filter(pl.col("last")).any(),
        ended=pl.col("ended_at").is_not_null().any(),
    )
    met = (
        pl.when(pl.col("missed"))
        .then(False)
        .when(~pl.col("reopened"))
        .then(True)
        .when(pl.col("ended") & pl.col("late_at_end"))
        .then(False)
        .otherwise(None)
    )
    outcome = outcome.select("referral_id", rejudged=met)
    return (
        frame.join(outcome, on="referral_id", how="left")
        .with_columns(
            appointment_met=pl.when(pl.col("referral_id").is_in(outcome["referral_id"].implode()))
            .then("rejudged")
            .otherwise("appointment_met")
        )
        .drop("rejudged")
    )


# Time in states and blockers ------------------------------------------------------------------


def _time_in(intervals, frame, key, values, name, timeline, as_of) -> pl.DataFrame:
    """Gross seconds per referral in each value of `key`, in the referral's measure."""
    if intervals is None:
        return pl.DataFrame(schema={"referral_id": pl.Int64()})
    clipped = _clipped(intervals.filter(pl.col(key).is_in(values)), frame, as_of)
    stat = frame.select("referral_id", "stat")
    clipped = clipped.join(stat, on="referral_id")
    business = timeline.position(clipped["ended_at"]) - timeline.position(clipped["started_at"])
    clock = micros(clipped["ended_at"]) - micros(clipped["started_at"])
    seconds = pl.select(
        span_seconds(pl.when(clipped["stat"]).then(clock).otherwise(business))
    ).to_series()
    clipped = clipped.with_columns(seconds=seconds)
    return clipped.group_by("referral_id").agg(
        pl.col("seconds").filter(pl.col(key) == value).sum().alias(name.format(value))
        for value in values
    )


def _zero_filled(frame: pl.DataFrame, states, waiting) -> pl.DataFrame:
    """A referral the source knows about that never sat in a state (or blocker) spent 0 there."""
    fills = []
    if states is not None:
        fills += [f"seconds_in_{s}" for s in OPEN_STATES]
    if waiting is not None:
        fills += [f"waiting_{k}_seconds" for k in WAITING_BLOCKERS]
    return frame.with_columns(pl.col(c).fill_null(0) for c in fills if c in frame.columns)
