"""The waitlist: booked patients who would take an earlier slot.

When a future slot frees, the top N waiting patients (priority, then time waiting) are offered it
at once, each by text and e-mail with a single-use link; offers expire after H hours (N and H per
service line). The first to accept is rebooked onto the slot; the slot's one-booking constraint
decides a race, and the others' offers become "taken by another patient".
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from refloop.access.models import Appointment, Slot, VisitType, WaitlistEntry, WaitlistOffer
from refloop.access.queries import slot_is_taken, waitlist_candidates
from refloop.access.services.authorization import authorization_booking_problem
from refloop.access.services.links import patient_link_claim, patient_link_find, patient_link_make
from refloop.access.services.patient_channels import (
    SMS_TEMPLATES,
    email_footer,
    email_subject,
    patient_channels,
    patient_zone,
    sms_text,
    visit_when_long,
    visit_when_short,
)
from refloop.core.errors import Conflict, DomainError, Gone
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.services import message_queue
from refloop.referrals.enums import State
from refloop.referrals.services import require

log = logging.getLogger(__name__)
Status = WaitlistOffer.Status


def _slots_locked(slot_ids):
    """The slots, locked until commit on PostgreSQL (SQLite's IMMEDIATE transactions already
    serialise writers). Everything that changes a slot's offers locks the slot first, in id
    order, so two of them never wait on each other's offer rows."""
    slots = Slot.objects.filter(pk__in=sorted(slot_ids)).order_by("pk")
    if connection.vendor == "postgresql":
        slots = slots.select_for_update(of=("self",))
    return slots


def _booked(referral_id: int) -> Appointment | None:
    return (
        Appointment.objects.select_related("slot")
        .filter(referral_id=referral_id, outcome=Appointment.Outcome.BOOKED)
        .last()
    )


@transaction.atomic
def waitlist_join(
    *, referral_id: int, actor, wants_before: dt.date | None = None, now=None
) -> WaitlistEntry:
    """Put a scheduled referral's patient on the waitlist for its visit type."""
    require(actor, "schedule_referral")
    appointment = _booked(referral_id)
    if appointment is None or appointment.referral.state != State.SCHEDULED:
        raise DomainError(
            "Only a referral with a booked visit can wait for an earlier one.", code="not_booked"
        )
    visit_type_id = (
        appointment.slot.visit_type_id
        if appointment.slot
        else VisitType.objects.filter(
            service_line_id=appointment.referral.service_line_id, for_new_referrals=True
        )
        .values_list("pk", flat=True)
        .first()
    )
    if visit_type_id is None:
        raise DomainError(
            "This service line has no calendar visit type to wait for.", code="no_visit_type"
        )
    if WaitlistEntry.objects.filter(referral_id=referral_id, active=True).exists():
        raise Conflict("The patient is already on the waitlist.")
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                referral_id=referral_id,
                visit_type_id=visit_type_id,
                joined_at=now or timezone.now(),
                wants_before=wants_before,
            )
    except IntegrityError as exc:
        raise Conflict("The patient is already on the waitlist.") from exc


@transaction.atomic
def waitlist_leave(*, referral_id: int, actor, now=None) -> WaitlistEntry:
    require(actor, "schedule_referral")
    entry = WaitlistEntry.objects.filter(referral_id=referral_id, active=True).first()
    if entry is None:
        raise DomainError("The patient is not on the waitlist.", code="not_waiting")
    _entry_end(entry, "left", now or timezone.now())
    return entry


def _entry_end(entry: WaitlistEntry, why: str, now: dt.datetime) -> None:
    WaitlistEntry.objects.filter(pk=entry.pk).update(active=False, ended_at=now, ended_why=why)
    entry.active, entry.ended_at, entry.ended_why = False, now, why
    # Offers still open are withdrawn: the patient no longer wants (or needs) them.
    entry.offers.filter(status=Status.OFFERED).update(status=Status.DECLINED, decided_at=now)


@transaction.atomic
def waitlist_slot_freed(*, slot_id: int, now: dt.datetime | None = None) -> int:
    """A booked slot in the future became free: offer it to the waitlist. Returns offers made.
    Safe to call again (by whoever freed the slot, or the expiry job): a slot with open offers,
    a taken slot or a past one gets none."""
    now = now or timezone.now()
    # Two callers for one slot at once: the second waits, then sees the first's offers.
    slot = _slots_locked([slot_id]).select_related("service_line").first()
    if slot is None or slot.withdrawn or slot.starts_at <= now or slot_is_taken(slot_id=slot.pk):
        return 0
    if slot.waitlist_offers.filter(status=Status.OFFERED, expires_at__gt=now).exists():
        return 0
    line = slot.service_line
    expires_at = min(now + dt.timedelta(hours=line.waitlist_offer_hours), slot.starts_at)
    made = 0
    for entry in waitlist_candidates(slot=slot, now=now).iterator(chunk_size=50):
        if made >= line.waitlist_offer_count:
            break
        patient = entry.referral.patient
        if not patient_channels(patient):
            continue  # an offer nobody can hear of would only hold the slot back
        if authorization_booking_problem(referral_id=entry.referral_id, starts_at=slot.starts_at):
            continue  # they could not take it (one or two reads each: the waitlist is short)
        offer = WaitlistOffer.objects.create(
            slot=slot, entry=entry, offered_at=now, expires_at=expires_at
        )
        _offer_send(offer, entry, patient, slot)
        made += 1
    log.info("slot %s freed: %s waitlist offers", slot.pk, made)
    return made


def _offer_send(offer: WaitlistOffer, entry: WaitlistEntry, patient, slot: Slot) -> None:
    current = _booked(entry.referral_id)
    link = patient_link_make(
        appointment_id=current.pk,
        purpose="accept_offer",
        offer_id=offer.pk,
        expires_at=offer.expires_at,
    )
    zone = patient_zone(patient)
    common = dict(
        audience=Audience.PATIENT,
        purpose=Purpose.WAITLIST_OFFER,
        referral_id=entry.referral_id,
        patient_id=patient.pk,
        expires_at=offer.expires_at,
    )
    channels = patient_channels(patient)
    if MessageChannel.SMS in channels:
        when = visit_when_short(slot.starts_at, zone)
        message_queue(
            channel=MessageChannel.SMS,
            to_address=patient.phone,
            body=sms_text(SMS_TEMPLATES[2].format(when=when, link=link)),
            dedupe_key=f"waitlist_offer:{offer.pk}",
            **common,
        )
    if MessageChannel.EMAIL in channels:
        hours = max(1, round((offer.expires_at - offer.offered_at).total_seconds() / 3600))
        body = "\n".join(
            [
                "An earlier appointment has opened:",
                "",
                f"When: {visit_when_long(slot.starts_at, zone)}",
                f"Where: {slot.location or '(as in your booking)'}",
                "",
                f"The first patient to accept gets it. To take it: {link}",
                f"This offer is open for {hours} hour{'s' if hours != 1 else ''}. If you do "
                "nothing, your current appointment stays as it is.",
            ]
        )
        message_queue(
            channel=MessageChannel.EMAIL,
            to_address=patient.email,
            subject=email_subject("An earlier appointment"),
            body=body + email_footer(),
            dedupe_key=f"waitlist_offer:{offer.pk}:email",
            **common,
        )


def waitlist_offer_accept(*, token: str, now: dt.datetime | None = None) -> WaitlistOffer:
    """The patient takes the offered slot through their link. The first to accept is rebooked
    onto it (their old slot goes to the waitlist as the booking gives it back); anyone later
    gets Gone ("Sorry, that time was taken")."""
    now = now or timezone.now()
    with transaction.atomic():
        link = patient_link_find(token=token)
        if link.purpose != "accept_offer":
            raise DomainError("This link is not an offer.", code="wrong_link")
        link = patient_link_claim(link=link, now=now, used_for="accept_offer")
        offer = link.offer
        # A second acceptor waits here until the first has booked and closed the other offers.
        list(_slots_locked([offer.slot_id]).values_list("pk", flat=True))
        claimed = WaitlistOffer.objects.filter(
            pk=offer.pk, status=Status.OFFERED, expires_at__gt=now
        ).update(status=Status.ACCEPTED, decided_at=now)
        booked = bool(claimed) and _rebook(offer, now)
        if claimed and not booked:
            WaitlistOffer.objects.filter(pk=offer.pk).update(status=Status.TAKEN_BY_OTHER)
    if not booked:
        raise Gone("Sorry, that time was taken.", code="offer_taken")
    offer.status = Status.ACCEPTED
    return offer


def _rebook(offer: WaitlistOffer, now: dt.datetime) -> bool:
    """Move the patient onto the offered slot: True if it was theirs to take. Booking gives
    their old slot back to the waitlist, so the offers this one beat are closed first: those
    patients may be offered the old slot at once."""
    from refloop.access.services.appointments import appointment_book

    slot = offer.slot
    if slot_is_taken(slot_id=slot.pk):
        return False
    try:
        # A savepoint: if another acceptor's booking got there first, the database refuses
        # ours and only this part (closing the other offers included) is undone.
        with transaction.atomic():
            WaitlistOffer.objects.filter(slot_id=slot.pk, status=Status.OFFERED).exclude(
                pk=offer.pk
            ).update(status=Status.TAKEN_BY_OTHER, decided_at=now)
            _entry_end(offer.entry, "moved_up", now)
            appointment_book(
                referral_id=offer.entry.referral_id,
                starts_at=slot.starts_at,
                slot_id=slot.pk,
                clinician_id=slot.clinician_id,
                location=slot.location,
                actor=None,
            )
    except (IntegrityError, Conflict):
        return False
    except DomainError as error:
        if error.code != "authorization":
            raise
        # The authorization does not cover this day: a person has to look at it. Raised, so
        # that nothing of this acceptance is kept (the link and the offer stay open).
        raise DomainError("Please call us to take this time.", code="offer_needs_call") from None
    return True


def waitlist_offers_expire(*, offer_ids: list[int], now: dt.datetime) -> int:
    """Close offers that ran out, then offer each slot still free to the next patients."""
    with transaction.atomic():
        slot_ids = set(
            WaitlistOffer.objects.filter(pk__in=offer_ids).values_list("slot_id", flat=True)
        )
        list(_slots_locked(slot_ids).values_list("pk", flat=True))
        expired = WaitlistOffer.objects.filter(
            pk__in=offer_ids, status=Status.OFFERED, expires_at__lte=now
        ).update(status=Status.EXPIRED, decided_at=now, lease_until=None)
        WaitlistOffer.objects.filter(pk__in=offer_ids).update(lease_until=None)
        for slot_id in sorted(slot_ids):
            waitlist_slot_freed(slot_id=slot_id, now=now)
    return expired
