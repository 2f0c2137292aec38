"""Booking meets authorization: a visit outside the approval's validity is flagged before it is
booked, and booked only when the scheduler says to book anyway."""

import datetime as dt

import pytest
from django.utils import timezone

from refloop.access.models import PayerRule
from refloop.access.services import (
    appointment_book,
    authorization_approve,
    authorization_start,
    authorization_submit,
)
from refloop.core.errors import DomainError
from refloop.directory.models import Coverage
from refloop.referrals.enums import State
from tests.access.conftest import in_days, slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_for_a_week(line, routine, scheduler):
    PayerRule.objects.create(service_line=line, payer="Acme Health")
    Coverage.objects.create(patient=routine.patient, payer="Acme Health", member_id="M-1")
    authorization_start(referral_id=routine.pk, actor=scheduler)
    authorization_submit(referral_id=routine.pk, actor=scheduler)
    today = timezone.localdate()
    return authorization_approve(
        referral_id=routine.pk,
        number="PA-77",
        valid_from=today,
        valid_to=today + dt.timedelta(days=7),
        actor=scheduler,
    )


def test_it_flags_a_slot_outside_the_authorization_before_booking(
    routine, consult, doctor, scheduler, approved_for_a_week
):
    late = slot(consult, doctor, in_days(20))
    with pytest.raises(DomainError, match="outside") as refused:
        appointment_book(referral_id=routine.pk, slot_id=late.pk, actor=scheduler)
    assert refused.value.code == "authorization"
    routine.refresh_from_db()
    assert routine.state == State.ACCEPTED  # nothing was booked


def test_it_books_inside_the_validity_without_asking(
    routine, consult, doctor, scheduler, approved_for_a_week
):
    soon = slot(consult, doctor, in_days(3))
    appointment = appointment_book(referral_id=routine.pk, slot_id=soon.pk, actor=scheduler)
    assert appointment.slot == soon


def test_it_books_outside_the_validity_when_told_to_book_anyway(
    routine, consult, doctor, scheduler, approved_for_a_week
):
    late = slot(consult, doctor, in_days(20))
    appointment = appointment_book(
        referral_id=routine.pk, slot_id=late.pk, actor=scheduler, override_authorization=True
    )
    routine.refresh_from_db()
    assert (appointment.slot, routine.state) == (late, State.SCHEDULED)
