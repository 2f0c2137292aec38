import datetime as dt
import re

import pytest
from django.utils import timezone

from refloop.access.jobs import waitlist_offers_watch
from refloop.access.models import (
    Appointment,
    Authorization,
    AuthorizationStatus,
    PatientLink,
    WaitlistEntry,
    WaitlistOffer,
)
from refloop.access.services import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_slot_freed,
)
from refloop.core.errors import Conflict, DomainError, Gone
from refloop.directory.enums import Priority
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import State
from tests import factories
from tests.access.conftest import local_day_at

TZ = timezone.get_default_timezone()


@pytest.fixture
def early_slot(line):
    return factories.open_slot(line=line, starts_at=local_day_at(2, 9, 0))


def waiting(line, intake, scheduler, *, priority=Priority.ROUTINE, days_ahead=30, joined_ago=0):
    """A referral booked `days_ahead` out, reachable by text, on the waitlist."""
    referral = factories.referral(line=line, actor=intake, priority=priority)
    factories.patient_reachable(referral, email=False)
    slot = factories.open_slot(line=line, starts_at=local_day_at(days_ahead, 9, 0))
    factories.booked(referral, slot=slot)
    waitlist_join(
        referral_id=referral.pk,
        actor=scheduler,
        now=timezone.now() - dt.timedelta(hours=joined_ago),
    )
    return referral


def token_of(offer) -> str:
    message = OutboundMessage.objects.get(dedupe_key=f"waitlist_offer:{offer.pk}")
    return re.search(r"/p/([\w-]+)/", message.body).group(1)


def offers(slot):
    return {o.entry.referral_id: o for o in WaitlistOffer.objects.filter(slot=slot)}


@pytest.fixture
def three_waiting(line, intake, scheduler):
    line.waitlist_offer_count, line.waitlist_offer_hours = 2, 4
    line.save()
    first = waiting(line, intake, scheduler, joined_ago=30, days_ahead=30)
    urgent = waiting(line, intake, scheduler, priority=Priority.URGENT, joined_ago=1, days_ahead=31)
    second = waiting(line, intake, scheduler, joined_ago=20, days_ahead=32)
    return first, urgent, second


def test_it_offers_a_freed_slot_to_the_top_n_by_priority_then_time_waiting(
    early_slot, three_waiting
):
    first, urgent, second = three_waiting

    assert waitlist_slot_freed(slot_id=early_slot.pk) == 2

    made = offers(early_slot)
    assert set(made) == {urgent.pk, first.pk}
    texts = OutboundMessage.objects.filter(purpose="waitlist_offer")
    assert texts.count() == 2
    assert all(len(t.body) < 160 and "orthopedics" not in t.body.lower() for t in texts)
    offer = made[urgent.pk]
    assert offer.expires_at - offer.offered_at == dt.timedelta(hours=4)


def test_it_offers_a_slot_only_once_while_its_offers_are_open(early_slot, three_waiting):
    waitlist_slot_freed(slot_id=early_slot.pk)

    assert waitlist_slot_freed(slot_id=early_slot.pk) == 0
    assert WaitlistOffer.objects.count() == 2


def test_it_offers_nothing_for_a_past_or_taken_slot(line, intake, scheduler, three_waiting):
    past = factories.open_slot(line=line, starts_at=timezone.now() - dt.timedelta(hours=1))
    taken = factories.open_slot(line=line, starts_at=local_day_at(3, 9, 0))
    factories.booked(factories.referral(line=line, actor=intake), slot=taken)

    assert waitlist_slot_freed(slot_id=past.pk) == 0
    assert waitlist_slot_freed(slot_id=taken.pk) == 0


def test_it_skips_patients_booked_earlier_than_the_slot(line, intake, scheduler, early_slot):
    waiting(line, intake, scheduler, days_ahead=1)

    assert waitlist_slot_freed(slot_id=early_slot.pk) == 0


def test_the_first_to_accept_gets_the_slot(early_slot, three_waiting):
    first, urgent, second = three_waiting
    waitlist_slot_freed(slot_id=early_slot.pk)
    made = offers(early_slot)
    old_slot_id = Appointment.objects.get(referral=urgent, outcome="booked").slot_id

    waitlist_offer_accept(token=token_of(made[urgent.pk]))

    moved = Appointment.objects.get(referral=urgent, outcome="booked")
    assert moved.slot_id == early_slot.pk
    urgent.refresh_from_db()
    assert urgent.state == State.SCHEDULED and urgent.appointment_at == early_slot.starts_at
    made[first.pk].refresh_from_db()
    assert made[first.pk].status == WaitlistOffer.Status.TAKEN_BY_OTHER
    entry = WaitlistEntry.objects.get(referral=urgent)
    assert not entry.active and entry.ended_why == "moved_up"
    # The slot the patient left goes to the waitlist in turn.
    assert WaitlistOffer.objects.filter(slot_id=old_slot_id).exists()

    with pytest.raises(Gone, match="Sorry, that time was taken"):
        waitlist_offer_accept(token=token_of(made[first.pk]))
    assert Appointment.objects.get(referral=first, outcome="booked").slot_id != early_slot.pk


def test_a_second_acceptor_racing_the_first_is_told_it_was_taken(early_slot, three_waiting):
    first, urgent, second = three_waiting
    waitlist_slot_freed(slot_id=early_slot.pk)
    made = offers(early_slot)
    waitlist_offer_accept(token=token_of(made[urgent.pk]))
    # As if the second click had read its offer as still open just before the first committed.
    WaitlistOffer.objects.filter(pk=made[first.pk].pk).update(status="offered")

    with pytest.raises(Gone, match="taken"):
        waitlist_offer_accept(token=token_of(made[first.pk]))

    made[first.pk].refresh_from_db()
    assert made[first.pk].status == WaitlistOffer.Status.TAKEN_BY_OTHER
    assert Appointment.objects.filter(slot=early_slot, outcome="booked").count() == 1


def test_expired_offers_go_to_the_next_patients(early_slot, three_waiting):
    first, urgent, second = three_waiting
    waitlist_slot_freed(slot_id=early_slot.pk)

    later = timezone.now() + dt.timedelta(hours=4, minutes=1)
    assert waitlist_offers_watch(later) == 2

    made = offers(early_slot)
    assert made[urgent.pk].status == made[first.pk].status == WaitlistOffer.Status.EXPIRED
    assert made[second.pk].status == WaitlistOffer.Status.OFFERED
    assert made[second.pk].offered_at == later
    with pytest.raises(Gone, match="expired"):
        waitlist_offer_accept(token=token_of(made[urgent.pk]), now=later)
    assert waitlist_offers_watch(later) == 0


def test_it_keeps_held_slots_for_urgent_patients(line, intake, scheduler, three_waiting):
    first, urgent, second = three_waiting
    held = factories.open_slot(line=line, starts_at=local_day_at(2, 11, 0), held=True)

    assert waitlist_slot_freed(slot_id=held.pk) == 1
    assert set(offers(held)) == {urgent.pk}


def test_it_lets_a_scheduler_join_and_leave_once(line, intake, scheduler, early_slot):
    referral = waiting(line, intake, scheduler)
    with pytest.raises(Conflict):
        waitlist_join(referral_id=referral.pk, actor=scheduler)

    waitlist_leave(referral_id=referral.pk, actor=scheduler)

    assert not WaitlistEntry.objects.get(referral=referral).active
    assert waitlist_slot_freed(slot_id=early_slot.pk) == 0
    with pytest.raises(DomainError):
        waitlist_leave(referral_id=referral.pk, actor=scheduler)


def test_only_a_booked_referral_can_join(referral, scheduler):
    with pytest.raises(DomainError, match="booked visit"):
        waitlist_join(referral_id=referral.pk, actor=scheduler)


def test_the_patients_who_lost_the_race_are_offered_the_winners_old_slot(
    line, intake, scheduler, early_slot
):
    line.waitlist_offer_count = 2
    line.save()
    winner = waiting(line, intake, scheduler, joined_ago=30, days_ahead=30)
    loser = waiting(line, intake, scheduler, joined_ago=20, days_ahead=31)
    waitlist_slot_freed(slot_id=early_slot.pk)
    old_slot_id = Appointment.objects.get(referral=winner, outcome="booked").slot_id

    waitlist_offer_accept(token=token_of(offers(early_slot)[winner.pk]))

    # The loser's offer was closed before the winner's old slot was given back: it is theirs.
    again = WaitlistOffer.objects.get(slot_id=old_slot_id)
    assert again.entry.referral_id == loser.pk and again.status == WaitlistOffer.Status.OFFERED


def test_it_compares_an_evening_slot_by_its_local_day(line, intake, scheduler):
    # 9 pm in the practice's zone is already the next day in UTC (America/New_York).
    evening = factories.open_slot(line=line, starts_at=local_day_at(2, 21, 0))
    referral = waiting(line, intake, scheduler)
    WaitlistEntry.objects.filter(referral=referral).update(
        wants_before=local_day_at(3, 9, 0).date()
    )

    assert waitlist_slot_freed(slot_id=evening.pk) == 1
    assert set(offers(evening)) == {referral.pk}


def _approved_for(referral, day):
    """The referral's authorization covers `day` only."""
    return Authorization.objects.create(
        referral=referral,
        status=AuthorizationStatus.APPROVED,
        payer="Acme Health",
        number="PA-1",
        valid_from=day,
        valid_to=day,
        created_at=timezone.now(),
    )


def test_it_offers_no_slot_the_patients_authorization_does_not_cover(
    line, intake, scheduler, early_slot
):
    covered = waiting(line, intake, scheduler, joined_ago=30)
    _approved_for(covered, early_slot.starts_at.astimezone(TZ).date())
    not_covered = waiting(line, intake, scheduler, joined_ago=40)
    _approved_for(not_covered, local_day_at(30, 9, 0).date())

    assert waitlist_slot_freed(slot_id=early_slot.pk) == 1
    assert set(offers(early_slot)) == {covered.pk}


def test_it_asks_the_patient_to_call_when_the_authorization_changed_since_the_offer(
    line, intake, scheduler, early_slot
):
    referral = waiting(line, intake, scheduler)
    waitlist_slot_freed(slot_id=early_slot.pk)
    offer = offers(early_slot)[referral.pk]
    booked_before = Appointment.objects.get(referral=referral, outcome="booked")
    _approved_for(referral, local_day_at(30, 9, 0).date())

    with pytest.raises(DomainError, match="Please call us to take this time"):
        waitlist_offer_accept(token=token_of(offer))

    # Nothing was recorded: the offer and its link stay open, the visit stays where it was.
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.OFFERED
    assert not PatientLink.objects.filter(offer=offer, used_at__isnull=False).exists()
    assert Appointment.objects.get(referral=referral, outcome="booked") == booked_before
    assert WaitlistEntry.objects.get(referral=referral).active
