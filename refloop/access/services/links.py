"""Single-use links patients follow without a login: confirm, cancel or ask to reschedule a
visit (the waitlist's accept link is used in services.waitlist).

The token is 32 random bytes; only its SHA-256 is stored. A link is used by a conditional UPDATE
of `used_at` (the claim): of two clicks at once, exactly one does the thing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from refloop.access.models import Appointment, PatientLink
from refloop.access.queries import patient_link_for_token
from refloop.alerts.queries import holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.errors import DomainError, Gone, NotFound

Purpose = PatientLink.Purpose
VISIT_CHOICES = (Purpose.CONFIRM, Purpose.CANCEL, Purpose.RESCHEDULE)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKEN_BYTES = 16


def patient_link_make(
    *,
    appointment_id: int,
    purpose: str,
    expires_at: dt.datetime,
    offer_id: int | None = None,
) -> str:
    """A new link; returns its URL (the token itself is never stored)."""
    # 128 bits: unguessable, and short enough for a text message's link.
    token = secrets.token_urlsafe(TOKEN_BYTES)
    PatientLink.objects.create(
        token_hash=token_hash(token),
        purpose=purpose,
        appointment_id=appointment_id,
        offer_id=offer_id,
        expires_at=expires_at,
    )
    return f"{settings.REFLOOP_BASE_URL.rstrip('/')}/p/{token}/"


def patient_link_problem(link: PatientLink, now: dt.datetime) -> Gone | None:
    """Why the link can no longer be used (None: it can)."""
    if link.used_at is not None:
        return Gone("This link has already been used.", code="link_used")
    if link.expires_at <= now:
        return Gone("This link has expired.", code="link_expired")
    if link.purpose == Purpose.ACCEPT_OFFER:
        if link.offer.status != "offered":
            return Gone("Sorry, that time was taken.", code="offer_taken")
        if link.appointment.outcome != "booked" or not link.offer.entry.active:
            return Gone("This offer is no longer open.", code="offer_closed")
    elif link.appointment.outcome != "booked":
        return Gone("This visit is no longer booked.", code="visit_not_booked")
    return None


def patient_link_find(*, token: str) -> PatientLink:
    link = patient_link_for_token(token)
    if link is None:
        raise NotFound("This link is not valid.")
    return link


def patient_link_claim(*, link: PatientLink, now: dt.datetime, used_for: str) -> PatientLink:
    """Use the link once, or say why it cannot be."""
    problem = patient_link_problem(link, now)
    if problem is not None:
        raise problem
    claimed = PatientLink.objects.filter(
        pk=link.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, used_for=used_for)
    if not claimed:
        raise Gone("This link has already been used.", code="link_used")
    link.used_at, link.used_for = now, used_for
    return link


@transaction.atomic
def patient_link_use(*, token: str, choice: str = "", now: dt.datetime | None = None) -> str:
    """Do what a visit link is for (a manage link: the patient's `choice`); returns what was
    done, for the page."""
    now = now or timezone.now()
    link = patient_link_find(token=token)
    if link.purpose == Purpose.ACCEPT_OFFER:
        raise DomainError("This link takes an earlier slot.", code="wrong_link")
    action = link.purpose if link.purpose != Purpose.MANAGE else choice
    if action not in VISIT_CHOICES:
        raise DomainError("Choose confirm, cancel or reschedule.", code="choice")
    link = patient_link_claim(link=link, now=now, used_for=action)
    return VISIT_ACTIONS[action](link.appointment, now)


def _confirm(appointment: Appointment, now: dt.datetime) -> str:
    Appointment.objects.filter(pk=appointment.pk).update(confirmed_at=now)
    return "Thank you: your visit is confirmed."


def _cancel(appointment: Appointment, now: dt.datetime) -> str:
    from refloop.access.services.appointments import appointment_record_outcome

    # The referral goes back to accepted: the schedulers see it ready to book again. The slot
    # given back goes to the waitlist from there.
    appointment_record_outcome(
        referral_id=appointment.referral_id, outcome=Appointment.Outcome.CANCELLED, actor=None
    )
    return "Your visit is cancelled. Call us when you would like a new time."


def _reschedule(appointment: Appointment, now: dt.datetime) -> str:
    from refloop.referrals.models import Referral

    Appointment.objects.filter(pk=appointment.pk).update(reschedule_requested_at=now)
    number = Referral(pk=appointment.referral_id).number
    alerts_raise(
        specs=[
            AlertSpec(
                key=f"reschedule_requested:{appointment.pk}",
                recipient_ids=tuple(holders_of("schedule_referral")),
                kind="reschedule_requested",
                referral_id=appointment.referral_id,
                text=f"{number}: the patient asked to reschedule their visit.",
            )
        ],
        now=now,
    )
    return "Thank you: we will call you to find a new time. Your visit stays booked until then."


VISIT_ACTIONS = {
    Purpose.CONFIRM: _confirm,
    Purpose.CANCEL: _cancel,
    Purpose.RESCHEDULE: _reschedule,
}
