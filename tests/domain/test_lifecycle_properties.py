"""Property tests: random sequences of actions, applied through the real services by the personas
while time moves forward, never break the lifecycle's invariants (DESIGN.md, The referral
lifecycle; issue 2, Tests).

Each example builds its own referral inside a savepoint that is rolled back at the end, so
examples do not see each other; the personas and the service line are shared.
"""

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import hypothesis
import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from refloop.access.models import Appointment
from refloop.access.services import appointment_book, appointment_record_outcome
from refloop.core.errors import Conflict, DomainError
from refloop.directory.enums import DocumentKind, Priority
from refloop.loop.models import ReportSent
from refloop.loop.services import report_send
from refloop.referrals.enums import (
    REASONS_FOR,
    TRANSITIONS,
    WAITING_BLOCKERS,
    BlockerKind,
    ChecklistStatus,
    ClockStatus,
    EventKind,
    Milestone,
    State,
)
from refloop.referrals.models import Referral
from refloop.referrals.services import (
    IncomingDocument,
    blocker_open,
    blocker_resolve,
    checklist_item_set,
    document_add,
    event_correct,
    milestone_record,
    referral_assign,
    referral_transition,
)
from refloop.referrals.services.lifecycle import FUTURE_TOLERANCE as TOLERANCE
from tests import factories

START = dt.datetime(2026, 3, 2, 13, 0, tzinfo=dt.UTC)  # Monday 08:00 in New York
PERSONAS = ["intake", "triage", "scheduler", "care_team", "manager", "liaison", "compliance"]
# The way to a closed loop; the other transitions come from "progress" and "attempt".
FORWARD = {
    State.RECEIVED: State.TRIAGE,
    State.TRIAGE: State.ACCEPTED,
    State.DECLINED: State.TRIAGE,
    State.ACCEPTED: State.SCHEDULED,
    State.SCHEDULED: State.COMPLETED,
    State.NO_SHOW: State.SCHEDULED,
    State.COMPLETED: State.CLOSED,
}
ALL_REASONS = sorted({code for reasons in REASONS_FOR.values() for code in reasons.values})


class SimulatedTime:
    """timezone.now() for the services: moves only forward, by the amounts the test draws."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def advance(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)

    @contextmanager
    def installed(self):
        with mock.patch("django.utils.timezone.now", lambda: self.now):
            yield


class RolledBack(Exception):
    pass


@contextmanager
def example_savepoint():
    """Everything an example writes is undone when it ends, pass or fail."""
    try:
        with transaction.atomic():
            yield
            raise RolledBack
    except RolledBack:
        pass


# What the database holds about one referral, to compare before and after a refused action.
def snapshot(referral_id: int) -> dict:
    referral = Referral.objects.get(pk=referral_id)
    return {
        "referral": {
            f.attname: getattr(referral, f.attname)
            for f in Referral._meta.concrete_fields
            if f.attname != "updated_at"
        },
        "events": list(referral.events.order_by("id").values_list("id", flat=True)),
        "blockers": list(referral.blockers.order_by("id").values()),
        "clocks": list(referral.clocks.order_by("id").values()),
        "documents": list(referral.documents.order_by("id").values_list("id", flat=True)),
        "checklist": list(referral.checklist.order_by("id").values("status", "document_id")),
        "appointments": list(referral.appointments.order_by("id").values("id", "outcome")),
        "reports": list(ReportSent.objects.filter(referral=referral).values_list("id", flat=True)),
        # Files only: an emptied folder left behind by a refused upload holds nothing.
        "files": sorted(str(p) for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()),
    }


def pdf(kind: str) -> IncomingDocument:
    return IncomingDocument(kind=kind, filename=f"{kind}.pdf", content=factories.PDF_BYTES)


class Run:
    """One example: a referral, the people, simulated time, and what has been seen so far."""

    def __init__(self, data, people, clock: SimulatedTime, referral: Referral):
        self.data, self.people, self.clock = data, people, clock
        self.referral_id = referral.pk
        self.missed: set[int] = set()  # clock ids once seen missed
        self.log: list[str] = []

    def draw(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    @property
    def referral(self) -> Referral:
        return Referral.objects.get(pk=self.referral_id)

    def person(self, name=None):
        return self.people[name or self.draw(st.sampled_from(PERSONAS), "person")]

    # The actions. Each returns the service call to make; the runner calls it.

    def act_forward(self):
        """The step towards a closed loop, done the usual way."""
        to_state = FORWARD.get(self.referral.state)
        return self.act_progress(to_state) if to_state else self.act_attempt()

    def act_progress(self, to_state=None):
        """A step a real user could take from this state, done the usual way."""
        state = self.referral.state
        options = sorted(TRANSITIONS[state])
        if not options:
            return self.act_attempt()
        to_state = to_state or self.draw(st.sampled_from(options), "to_state")
        pk = self.referral_id
        if to_state == State.SCHEDULED:
            starts = self.clock.now + dt.timedelta(minutes=self.draw(st.integers(0, 20 * 24 * 60)))
            return lambda: appointment_book(
                referral_id=pk, starts_at=starts, actor=self.people["scheduler"]
            )
        if state == State.SCHEDULED and to_state in (
            State.COMPLETED,
            State.NO_SHOW,
            State.ACCEPTED,
        ):
            outcome = {
                State.COMPLETED: Appointment.Outcome.ATTENDED,
                State.NO_SHOW: Appointment.Outcome.NO_SHOW,
                State.ACCEPTED: Appointment.Outcome.CANCELLED,
            }[to_state]
            return lambda: appointment_record_outcome(
                referral_id=pk, outcome=outcome, actor=self.people["scheduler"]
            )
        if to_state == State.CLOSED:
            channel = self.draw(st.sampled_from(ReportSent.Channel.values), "channel")
            return lambda: report_send(
                referral_id=pk,
                incoming=pdf(DocumentKind.REPORT),
                channel=channel,
                actor=self.people["care_team"],
            )
        actor = {
            State.TRIAGE: "intake" if state == State.RECEIVED else "triage",
            State.CANCELLED: "scheduler",
        }.get(to_state, "triage")
        reason = ""
        if to_state in REASONS_FOR:
            reason = self.draw(st.sampled_from(REASONS_FOR[to_state].values), "reason")
        return lambda: referral_transition(
            referral_id=pk, to_state=to_state, actor=self.people[actor], reason=reason
        )

    def act_attempt(self):
        """Any state, by anyone, with any reason: mostly refused."""
        to_state = self.draw(st.sampled_from(State.values), "to_state")
        actor = self.person()
        reason = self.draw(st.sampled_from(["", *ALL_REASONS]), "reason")
        appointment_at = self.draw(
            st.none()
            | st.integers(-3 * 24 * 60, 40 * 24 * 60).map(
                lambda m: self.clock.now + dt.timedelta(minutes=m)
            ),
            "appointment_at",
        )
        return lambda: referral_transition(
            referral_id=self.referral_id,
            to_state=to_state,
            actor=actor,
            reason=reason,
            appointment_at=appointment_at,
        )

    def act_stale(self):
        """A form built on an older version of the referral."""
        stale = self.referral.version - self.draw(st.integers(1, 3), "versions behind")
        to_state = self.draw(
            st.sampled_from(sorted(TRANSITIONS[self.referral.state]) or ["triage"])
        )
        reason = REASONS_FOR[to_state].values[0] if to_state in REASONS_FOR else ""
        call = lambda: referral_transition(  # noqa: E731
            referral_id=self.referral_id,
            to_state=to_state,
            actor=self.people["manager"],
            reason=reason,
            appointment_at=self.clock.now + dt.timedelta(days=3),
            expected_version=stale,
        )
        call.must_fail_with = Conflict
        return call

    def act_milestone(self):
        milestone = self.draw(st.sampled_from(Milestone.values), "milestone")
        actor = self.person()
        return lambda: milestone_record(
            referral_id=self.referral_id, milestone=milestone, actor=actor
        )

    def act_blocker(self):
        kind = self.draw(st.sampled_from(BlockerKind.values), "blocker")
        service = self.draw(st.sampled_from([blocker_open, blocker_resolve]), "open/resolve")
        actor = self.person(self.draw(st.sampled_from(["intake", "scheduler", "triage"])))
        return lambda: service(referral_id=self.referral_id, kind=kind, actor=actor)

    def act_document(self):
        kind = self.draw(st.sampled_from(DocumentKind.values), "document kind")
        actor = self.person()
        return lambda: document_add(referral_id=self.referral_id, incoming=pdf(kind), actor=actor)

    def act_checklist(self):
        item = self.referral.checklist.order_by("id").first()
        status = self.draw(st.sampled_from(ChecklistStatus.values), "checklist status")
        if item is None:
            return None
        return lambda: checklist_item_set(item=item, status=status, actor=self.people["intake"])

    def act_report(self):
        actor = self.person(self.draw(st.sampled_from(["care_team", "scheduler", "manager"])))
        return lambda: report_send(
            referral_id=self.referral_id, incoming=pdf("report"), channel="direct", actor=actor
        )

    def act_correct(self):
        events = list(self.referral.events.order_by("id").values_list("id", flat=True))
        event_id = events[self.draw(st.integers(0, len(events) - 1), "event")]
        actor = self.person(self.draw(st.sampled_from(["manager", "intake"])))
        return lambda: event_correct(event_id=event_id, actor=actor, note="Recorded in error")

    def act_assign(self):
        assignee = self.person(self.draw(st.sampled_from(["scheduler", "liaison", "triage"])))
        return lambda: referral_assign(
            referral_ids=[self.referral_id], assignee=assignee, actor=self.people["intake"]
        )

    ACTIONS = {
        "forward": 6,
        "progress": 2,
        "attempt": 3,
        "stale": 1,
        "milestone": 2,
        "blocker": 3,
        "document": 1,
        "checklist": 1,
        "report": 1,
        "correct": 1,
        "assign": 1,
    }

    def step(self) -> None:
        minutes = self.draw(
            st.one_of(st.integers(0, 90), st.integers(0, 4 * 24 * 60)), "minutes later"
        )
        self.clock.advance(minutes)
        names = [name for name, weight in self.ACTIONS.items() for _ in range(weight)]
        name = self.draw(st.sampled_from(names), "action")
        call = getattr(self, f"act_{name}")()
        if call is None:
            return
        before = snapshot(self.referral_id)
        must_fail_with = getattr(call, "must_fail_with", None)
        try:
            call()
        except DomainError as error:
            # A refused action changes nothing at all.
            assert snapshot(self.referral_id) == before, f"{name} refused but changed: {error}"
            if must_fail_with:
                assert isinstance(error, must_fail_with), error
            self.log.append(f"{name}: refused ({error.code})")
        else:
            assert must_fail_with is None, f"{name} should have been refused"
            self.log.append(f"{name}: ok -> {self.referral.state}")
        self.check()

    # The invariants, checked against the database after every step.

    def check(self) -> None:
        referral = self.referral
        events = list(referral.events.order_by("id"))
        self.check_path(referral, events)
        self.check_times(referral, events)
        self.check_clocks(referral)
        self.check_blockers(referral)
        if referral.state == State.CLOSED:
            assert referral.documents.filter(kind=DocumentKind.REPORT).exists()
            assert ReportSent.objects.filter(referral=referral).exists()
            assert referral.closed_at is not None

    def check_path(self, referral, events) -> None:
        assert events[0].kind == EventKind.RECEIVED
        for order in (events, sorted(events, key=lambda e: (e.occurred_at, e.id))):
            state = State.RECEIVED
            for event in order:
                if event.kind != EventKind.STATE_CHANGED:
                    continue
                assert event.from_state == state, self.log
                assert event.to_state in TRANSITIONS[state], (state, event.to_state)
                state = event.to_state
            assert state == referral.state

    def check_times(self, referral, events) -> None:
        """Times never run backwards. Facts may be recorded after the fact (a visit is stamped
        with its appointment time when its outcome is entered later), so what must hold is: no
        event before the referral arrived or beyond the clock-skew tolerance, and no state change
        before the one it follows (check_path also walks the timeline in time order)."""
        log = "\n".join(
            [*self.log, *(f"{e.kind} {e.code} {e.occurred_at:%m-%d %H:%M}" for e in events)]
        )
        assert events[0].occurred_at == referral.received_at
        for event in events:
            assert referral.received_at <= event.occurred_at <= self.clock.now + TOLERANCE, log
        changes = [e.occurred_at for e in events if e.kind == EventKind.STATE_CHANGED]
        assert changes == sorted(changes), log
        if changes:
            assert referral.state_changed_at == changes[-1]
        for clock in referral.clocks.all():
            assert clock.started_at >= referral.received_at
            assert clock.stopped_at is None or clock.stopped_at >= clock.started_at

    def check_clocks(self, referral) -> None:
        running = []
        for clock in referral.clocks.all():
            if clock.outcome == ClockStatus.MISSED:
                self.missed.add(clock.pk)
            elif clock.pk in self.missed:
                raise AssertionError(f"{clock.kind} was missed, now {clock.outcome or 'running'}")
            if clock.stopped_at:
                assert clock.due_at is None and clock.at_risk_at is None
                assert clock.outcome in {ClockStatus.MET, ClockStatus.MISSED, ClockStatus.ENDED}
                assert clock.net_seconds <= clock.gross_seconds
            elif clock.paused_since:
                assert clock.due_at is None
            else:
                assert clock.due_at is not None and clock.at_risk_at <= clock.due_at
                running.append(clock)
        if referral.blockers.filter(resolved_at__isnull=True, kind__in=WAITING_BLOCKERS).exists():
            assert not running, "a clock runs while the referral waits on others"
        assert referral.next_due_at == min((c.due_at for c in running), default=None)
        assert referral.next_at_risk_at == min((c.at_risk_at for c in running), default=None)
        if referral.state not in TRANSITIONS or not TRANSITIONS[referral.state]:
            assert not running  # an ended referral has no clock running

    def check_blockers(self, referral) -> None:
        open_count = referral.blockers.filter(resolved_at__isnull=True).count()
        assert referral.open_blocker_count == open_count


@pytest.fixture
def people(intake, triage, scheduler, care_team, manager, liaison, compliance):
    return {
        "intake": intake,
        "triage": triage,
        "scheduler": scheduler,
        "care_team": care_team,
        "manager": manager,
        "liaison": liaison,
        "compliance": compliance,
    }


@settings(
    # REFLOOP_PROPERTY_EXAMPLES=1000 for a longer hunt.
    max_examples=int(os.environ.get("REFLOOP_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_keeps_its_invariants_under_random_actions(people, line, data):
    clock = SimulatedTime(START + dt.timedelta(minutes=data.draw(st.integers(0, 7 * 24 * 60))))
    with clock.installed(), example_savepoint():
        referral = factories.referral(
            line=line,
            actor=people["intake"],
            received_at=clock.now,
            priority=data.draw(st.sampled_from(Priority.values), "priority"),
            complete=data.draw(st.booleans(), "records complete"),
            known_referrer=data.draw(st.booleans(), "known referrer"),
        )
        run = Run(data, people, clock, referral)
        run.check()
        for _ in range(data.draw(st.integers(1, 30), "steps")):
            run.step()
        hypothesis.event(f"ended {run.referral.state}")
