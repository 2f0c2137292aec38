"""Clocks: the response targets running for one referral (DESIGN.md, Clocks).

`ClockBook` works on ReferralClock objects in memory, so the services (one referral at a time)
and the demo generator (thousands in bulk) share one set of rules. It never touches the database.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from refloop.core.calendar import AroundTheClock, BusinessCalendar
from refloop.directory.enums import Priority, TargetKind, TargetUnit
from refloop.referrals.enums import BEFORE_DECISION, ClockStatus, Milestone, State
from refloop.referrals.models import ReferralClock

AT_RISK_SHARE = 0.75
DAY = 86400
HOUR = 3600


@dataclass(frozen=True)
class Target:
    kind: str
    amount: int
    unit: str

    @functools.cached_property  # asked per clock: a file import starts millions
    def seconds(self) -> int:
        return self.amount * (DAY if self.unit == TargetUnit.CALENDAR_DAYS else HOUR)


def targets_for(service_line_id: int, priority: str) -> dict[str, Target]:
    from refloop.directory.models import ResponseTarget

    rows = ResponseTarget.objects.filter(service_line_id=service_line_id, priority=priority)
    return {row.kind: Target(row.kind, row.amount, row.unit) for row in rows}


@dataclass
class ClockBook:
    referral_id: int | None
    priority: str
    targets: dict[str, Target]
    calendar: BusinessCalendar
    clocks: dict[str, ReferralClock] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)

    def _measure(self, clock: ReferralClock):
        return measure_for(clock.unit, clock.around_the_clock, self.calendar)

    def start(self, kind: str, at: dt.datetime) -> None:
        target = self.targets.get(kind)
        if target is None or kind in self.clocks:
            return
        clock = ReferralClock(
            referral_id=self.referral_id,
            kind=kind,
            unit=target.unit,
            around_the_clock=self.priority == Priority.STAT,
            target_seconds=target.seconds,
            started_at=at,
        )
        self.clocks[kind] = clock
        self._schedule(clock)
        self.changed.add(kind)

    def _schedule(self, clock: ReferralClock) -> None:
        clock.due_at, clock.at_risk_at = due_times(
            self._measure(clock), clock.started_at, clock.target_seconds, clock.paused_seconds
        )

    def stop(self, kind: str, at: dt.datetime, *, finished: bool = True, met: bool | None = None):
        """Stop a running clock. A finished clock was met or missed (`met` overrides the judgement
        for days to appointment, where the appointment's date counts, not the booking's); an
        unfinished one (the referral ended first) is missed if it was already late, else ended."""
        clock = self.clocks.get(kind)
        if clock is None or clock.stopped_at:
            return
        self._resume(clock, at)
        measure = self._measure(clock)
        clock.gross_seconds = measure.seconds_between(clock.started_at, at)
        clock.net_seconds = max(0, clock.gross_seconds - clock.paused_seconds)
        late = clock.net_seconds > clock.target_seconds
        if finished:
            on_time = (not late) if met is None else met
            clock.outcome = ClockStatus.MET if on_time else ClockStatus.MISSED
        else:
            clock.outcome = ClockStatus.MISSED if late else ClockStatus.ENDED
        clock.stopped_at = at
        clock.due_at = clock.at_risk_at = None
        self.changed.add(kind)

    def due_at_if_stopped(self, clock: ReferralClock, at: dt.datetime) -> dt.datetime:
        """When the clock is due, counting a pause still open up to `at` (a paused clock has no
        due_at of its own)."""
        measure = self._measure(clock)
        paused = clock.paused_seconds
        if clock.paused_since:
            paused += measure.seconds_between(clock.paused_since, at)
        return measure.add(clock.started_at, clock.target_seconds + paused)

    def reopen(self, kind: str) -> None:
        """Undo a stop that the referral took back (an appointment cancelled), unless it was
        missed: a missed target stays missed."""
        clock = self.clocks.get(kind)
        if clock is None or not clock.stopped_at or clock.outcome == ClockStatus.MISSED:
            return
        clock.stopped_at = None
        clock.outcome = ""
        clock.gross_seconds = clock.net_seconds = None
        self._schedule(clock)
        self.changed.add(kind)

    def stop_all(self, at: dt.datetime) -> None:
        for kind in list(self.clocks):
            self.stop(kind, at, finished=False)

    def pause_all(self, at: dt.datetime) -> None:
        for kind, clock in self.clocks.items():
            if not clock.stopped_at and not clock.paused_since:
                clock.paused_since = at
                clock.due_at = clock.at_risk_at = None
                self.changed.add(kind)

    def resume_all(self, at: dt.datetime) -> None:
        for kind, clock in self.clocks.items():
            if not clock.stopped_at and clock.paused_since:
                self._resume(clock, at)
                self._schedule(clock)
                self.changed.add(kind)

    def _resume(self, clock: ReferralClock, at: dt.datetime) -> None:
        if clock.paused_since:
            clock.paused_seconds += self._measure(clock).seconds_between(clock.paused_since, at)
            clock.paused_since = None

    def next_times(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(next due, next at risk) over the running clocks, for the referral row."""
        running = [c for c in self.clocks.values() if c.due_at is not None]
        if not running:
            return None, None
        return min(c.due_at for c in running), min(c.at_risk_at for c in running)


def measure_for(unit: str, around_the_clock: bool, calendar: BusinessCalendar):
    # Stat targets and calendar-day targets count elapsed time; the rest count business time.
    if around_the_clock or unit == TargetUnit.CALENDAR_DAYS:
        return AROUND_THE_CLOCK
    return calendar


def due_times(measure, started_at: dt.datetime, target_seconds: int, paused_seconds: int):
    """(due, at risk) of a running clock."""
    return (
        measure.add(started_at, target_seconds + paused_seconds),
        measure.add(started_at, int(target_seconds * AT_RISK_SHARE) + paused_seconds),
    )


AROUND_THE_CLOCK = AroundTheClock()
# The clocks a referral starts when it arrives, in the order they start.
ON_RECEIVED = (TargetKind.ACKNOWLEDGE, TargetKind.TRIAGE, TargetKind.APPOINTMENT)


def on_received(book: ClockBook, at: dt.datetime) -> None:
    for kind in ON_RECEIVED:
        book.start(kind, at)


def received_clock_rows(
    *,
    referral_id: int,
    priority: str,
    targets: dict[str, Target],
    calendar: BusinessCalendar,
    at: dt.datetime,
    waiting: bool,
) -> list[dict]:
    """The clocks `on_received` starts (paused at once when the referral waits on others), as
    rows by attname: what a new referral's ClockBook holds, without a model object per clock (a
    file import makes millions). Columns not named take their defaults."""
    rows = []
    for kind in ON_RECEIVED:
        target = targets.get(kind)
        if target is None:
            continue
        around = priority == Priority.STAT
        due_at = at_risk_at = None
        if not waiting:
            measure = measure_for(target.unit, around, calendar)
            due_at, at_risk_at = due_times(measure, at, target.seconds, 0)
        rows.append(
            {
                "referral_id": referral_id,
                "kind": kind,
                "unit": target.unit,
                "around_the_clock": around,
                "target_seconds": target.seconds,
                "started_at": at,
                "due_at": due_at,
                "at_risk_at": at_risk_at,
                "paused_since": at if waiting else None,
            }
        )
    return rows


def next_times_of(rows: list[dict]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """ClockBook.next_times for clocks given as rows."""
    running = [row for row in rows if row["due_at"] is not None]
    if not running:
        return None, None
    return min(r["due_at"] for r in running), min(r["at_risk_at"] for r in running)


def on_transition(
    book: ClockBook,
    *,
    from_state: str,
    to_state: str,
    at: dt.datetime,
    appointment_at: dt.datetime | None = None,
) -> None:
    """Start and stop clocks for one state change."""
    if from_state in BEFORE_DECISION and to_state in {
        State.ACCEPTED,
        State.DECLINED,
        State.REDIRECTED,
    }:
        book.stop(TargetKind.TRIAGE, at)
    if to_state == State.ACCEPTED and from_state != State.SCHEDULED:
        book.start(TargetKind.FIRST_CONTACT, at)
    if to_state == State.ACCEPTED and from_state == State.SCHEDULED:
        book.reopen(TargetKind.APPOINTMENT)  # appointment cancelled: the wait goes on
    if to_state == State.SCHEDULED:
        # Booking means the patient was reached.
        book.stop(TargetKind.FIRST_CONTACT, at)
        appointment = book.clocks.get(TargetKind.APPOINTMENT)
        if appointment and not appointment.stopped_at and appointment_at:
            due_at = book.due_at_if_stopped(appointment, at)
            book.stop(TargetKind.APPOINTMENT, at, met=appointment_at <= due_at)
    if to_state == State.COMPLETED:
        book.start(TargetKind.REPORT, at)
    if to_state == State.CLOSED:
        book.stop(TargetKind.REPORT, at)
    if to_state in {State.DECLINED, State.REDIRECTED, State.CANCELLED, State.CLOSED}:
        book.stop_all(at)


def on_milestone(book: ClockBook, *, milestone: str, at: dt.datetime) -> None:
    if milestone == Milestone.ACKNOWLEDGED:
        book.stop(TargetKind.ACKNOWLEDGE, at)
    elif milestone == Milestone.FIRST_CONTACT:
        book.stop(TargetKind.FIRST_CONTACT, at)


def on_waiting_changed(book: ClockBook, *, waiting: bool, at: dt.datetime) -> None:
    """Clocks pause while the referral waits on others (records, authorization, the referrer)."""
    if waiting:
        book.pause_all(at)
    else:
        book.resume_all(at)
