"""A slot cannot be booked twice, whoever races for it (PostgreSQL: real threads, each with its
own connection, released together at a barrier)."""

import threading

import pytest
from django.db import connection

from refloop.access.models import Appointment
from refloop.access.services import appointment_book
from refloop.core.errors import Conflict
from refloop.referrals.enums import State
from refloop.referrals.models import Referral
from tests.access.conftest import accepted, in_days, slot

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent bookings are tested on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

ATTEMPTS, SLOTS = 50, 10


def test_it_lets_exactly_one_booking_per_slot_win_among_fifty(
    line, consult, doctor, scheduler, intake, triage
):
    slots = [slot(consult, doctor, in_days(3 + n)) for n in range(SLOTS)]
    referrals = [accepted(line, intake=intake, triage=triage) for _ in range(ATTEMPTS)]
    barrier = threading.Barrier(ATTEMPTS)
    results: list = [None] * ATTEMPTS

    def book(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            appointment_book(
                referral_id=referrals[index].pk,
                slot_id=slots[index % SLOTS].pk,
                actor=scheduler,
            )
            results[index] = "ok"
        except Exception as error:  # the test asserts on what each attempt got
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert results.count("ok") == SLOTS, results
    losers = [r for r in results if r != "ok"]
    assert all(isinstance(r, Conflict) and r.code == "slot_taken" for r in losers), losers
    booked = Appointment.objects.filter(outcome=Appointment.Outcome.BOOKED)
    assert sorted(booked.values_list("slot_id", flat=True)) == sorted(s.pk for s in slots)
    assert Referral.objects.filter(state=State.SCHEDULED).count() == SLOTS
    assert Referral.objects.filter(state=State.ACCEPTED).count() == ATTEMPTS - SLOTS
