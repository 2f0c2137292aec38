"""Two people acting on the same referral at once cannot both win (DESIGN.md, lifecycle).

Real threads, each with its own PostgreSQL connection, start together at a barrier. The winner
keeps its transaction open a moment after its change, so the other writer really meets the row
lock rather than arriving after the commit.
"""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from refloop.access.models import Appointment
from refloop.access.services import appointment_book
from refloop.core.errors import Conflict, DomainError
from refloop.referrals.enums import DeclineReason, EventKind, State
from refloop.referrals.models import Referral
from refloop.referrals.services import referral_receive, referral_transition
from tests import factories

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

HOLD = 0.3  # seconds the winner keeps its row lock


def race(*calls):
    """Run each call in its own thread and connection, all released at once; returns for each
    call "ok" or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                call()
                time.sleep(HOLD)
            results[index] = "ok"
        except Exception as error:  # the test asserts on what each writer got
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def in_triage(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    return referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)


@pytest.fixture
def accepted(in_triage, triage):
    return referral_transition(referral_id=in_triage.pk, to_state=State.ACCEPTED, actor=triage)


def state_changes(referral, *to_states):
    return referral.events.filter(kind=EventKind.STATE_CHANGED, to_state__in=to_states).count()


def test_it_lets_one_of_two_triage_decisions_on_the_same_version_win(in_triage, triage, manager):
    seen = Referral.objects.get(pk=in_triage.pk).version

    def accept():
        referral_transition(
            referral_id=in_triage.pk, to_state=State.ACCEPTED, actor=triage, expected_version=seen
        )

    def decline():
        referral_transition(
            referral_id=in_triage.pk,
            to_state=State.DECLINED,
            actor=manager,
            reason=DeclineReason.NOT_INDICATED,
            expected_version=seen,
        )

    results = race(accept, decline)

    assert results.count("ok") == 1, results
    loser = next(r for r in results if r != "ok")
    assert isinstance(loser, Conflict), repr(loser)
    referral = Referral.objects.get(pk=in_triage.pk)
    winner = State.ACCEPTED if results[0] == "ok" else State.DECLINED
    assert referral.state == winner
    assert referral.version == seen + 1
    assert state_changes(referral, State.ACCEPTED, State.DECLINED) == 1


def test_it_lets_one_of_two_bookings_on_the_same_version_win(accepted, scheduler, manager):
    seen = Referral.objects.get(pk=accepted.pk).version
    visit = factories.ago(hours=-48)

    def book(person, starts_at):
        return lambda: appointment_book(
            referral_id=accepted.pk, starts_at=starts_at, actor=person, expected_version=seen
        )

    results = race(book(scheduler, visit), book(manager, visit + dt.timedelta(hours=2)))

    assert results.count("ok") == 1, results
    assert isinstance(next(r for r in results if r != "ok"), Conflict)
    referral = Referral.objects.get(pk=accepted.pk)
    assert referral.state == State.SCHEDULED
    assert state_changes(referral, State.SCHEDULED) == 1
    assert Appointment.objects.filter(referral=referral).count() == 1


def test_it_checks_the_second_decision_against_the_state_the_first_left(in_triage, triage, manager):
    # No version given: the second writer waits for the row lock, then sees "accepted" and is
    # refused as an illegal move, instead of overwriting.
    def accept():
        referral_transition(referral_id=in_triage.pk, to_state=State.ACCEPTED, actor=triage)

    def decline():
        referral_transition(
            referral_id=in_triage.pk,
            to_state=State.DECLINED,
            actor=manager,
            reason=DeclineReason.NOT_INDICATED,
        )

    results = race(accept, decline)

    assert results.count("ok") == 1, results
    loser = next(r for r in results if r != "ok")
    assert isinstance(loser, DomainError) and not isinstance(loser, Conflict), repr(loser)
    assert loser.code == "transition_not_allowed"
    referral = Referral.objects.get(pk=in_triage.pk)
    assert state_changes(referral, State.ACCEPTED, State.DECLINED) == 1
    event = referral.events.get(to_state__in=[State.ACCEPTED, State.DECLINED])
    assert (event.from_state, event.to_state) == (State.TRIAGE, referral.state)


def test_it_serializes_two_bookings_without_a_version_into_a_booking_and_a_rebooking(
    accepted, scheduler, manager
):
    visit = factories.ago(hours=-48)

    def book(person, starts_at):
        return lambda: appointment_book(referral_id=accepted.pk, starts_at=starts_at, actor=person)

    results = race(book(scheduler, visit), book(manager, visit + dt.timedelta(hours=2)))

    assert results == ["ok", "ok"]
    referral = Referral.objects.get(pk=accepted.pk)
    path = list(
        referral.events.filter(kind=EventKind.STATE_CHANGED, to_state=State.SCHEDULED)
        .order_by("id")
        .values_list("from_state", "to_state")
    )
    # The second booking was validated against the first: it is a rebooking.
    assert path == [(State.ACCEPTED, State.SCHEDULED), (State.SCHEDULED, State.SCHEDULED)]
    outcomes = sorted(referral.appointments.values_list("outcome", flat=True))
    assert outcomes == [Appointment.Outcome.BOOKED, Appointment.Outcome.REBOOKED]


def test_it_receives_a_message_sent_twice_at_once_only_once(line, clinician, intake):
    submission = factories.submission(
        line=line,
        clinician=clinician,
        documents=[factories.notes_pdf()],
        sender_system="ehr-north",
        sender_reference="ORD-RACE-1",
    )
    answers = []

    def receive():
        answers.append(referral_receive(submission=submission, actor=intake))

    results = race(receive, receive)

    assert results == ["ok", "ok"]
    assert Referral.objects.count() == 1
    assert {a.referral.pk for a in answers} == {Referral.objects.get().pk}
    assert sorted(a.created for a in answers) == [False, True]
