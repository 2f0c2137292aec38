"""Status updates to the referrer at the milestones they care about, read from ReferralEvents
(loop.jobs.referrer_updates), one message per event or one daily digest per referrer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from refloop.core.pdf import Section, pdf_letter
from refloop.directory.enums import DocumentKind
from refloop.loop.models import LoopSettings
from refloop.loop.services.referrer import (
    PULLED_CHANNELS,
    clinician_route,
    initials,
    patient_line,
    referrer_message,
    referrer_route,
    referrer_unreachable,
)
from refloop.messaging.enums import Purpose
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import CancelReason, DeclineReason, EventKind, State
from refloop.referrals.models import Referral, ReferralEvent
from refloop.referrals.services import IncomingDocument, document_add

DEFAULT_ALTERNATIVES = (
    "Your patient may be seen by another specialist in their plan's network, or managed in "
    "primary care with the advice above. Our referral line can help you find another service."
)

# The events referrers hear about: arrival, and these state changes.
UPDATE_STATES = (
    State.ACCEPTED,
    State.DECLINED,
    State.SCHEDULED,
    State.NO_SHOW,
    State.COMPLETED,
    State.CANCELLED,
    State.CLOSED,
)
UPDATE_EVENTS = Q(kind=EventKind.RECEIVED) | Q(
    kind=EventKind.STATE_CHANGED, to_state__in=UPDATE_STATES
)


@dataclass(frozen=True)
class Update:
    code: str
    text: str  # what happened, without the patient's name


def _when(iso_or_dt) -> str:
    at = dt.datetime.fromisoformat(iso_or_dt) if isinstance(iso_or_dt, str) else iso_or_dt
    return f"{timezone.localtime(at):%b %-d, %Y at %-I:%M %p}"


def update_for(event: ReferralEvent) -> Update | None:
    """What the referrer is told about one event (None: nothing they care about)."""
    if event.kind == EventKind.RECEIVED:
        return Update("received", "received; we will review it shortly.")
    if event.kind != EventKind.STATE_CHANGED:
        return None
    to_state, from_state = event.to_state, event.from_state
    if to_state == State.ACCEPTED and from_state == State.TRIAGE:
        return Update("accepted", "accepted; we will contact the patient to schedule.")
    if to_state == State.DECLINED:
        reason = _label(DeclineReason, event.code)
        return Update("declined", f"declined ({reason}); a letter with other options follows.")
    if to_state == State.SCHEDULED:
        when = _when(event.details.get("appointment_at") or event.occurred_at)
        verb = "rescheduled" if from_state in {State.SCHEDULED, State.NO_SHOW} else "scheduled"
        return Update(verb, f"{verb} for {when}.")
    if to_state == State.COMPLETED:
        return Update("seen", f"the patient was seen on {_when(event.occurred_at)}.")
    if to_state == State.NO_SHOW:
        return Update("no_show", "the patient missed the appointment; we will try to rebook.")
    if to_state == State.CANCELLED:
        return Update("cancelled", f"cancelled ({_label(CancelReason, event.code)}).")
    if to_state == State.CLOSED:
        return Update("report_sent", "the consult report was sent.")
    return None


def _label(choices, code: str) -> str:
    return choices(code).label.lower() if code in choices.values else "no reason given"


def status_update_send(*, event: ReferralEvent, now: dt.datetime) -> bool:
    """One update for one event, by the referrer's channel, under the key "status:<event id>".
    Digest referrers get only the decline letter here (their daily digest lists the rest, and
    promises that letter); the report itself travels as its own message. Safe to call again for
    the same event: the key is checked before anything is written."""
    update = update_for(event)
    referral = event.referral
    clinician = referral.referring_clinician
    if update is None or update.code == "report_sent":
        return False
    declined = update.code == "declined"
    if clinician is not None and clinician.updates_as_digest and not declined:
        return False
    key = f"status:{event.pk}"
    # A batch run again after a crash must not write a second decline letter.
    if OutboundMessage.objects.filter(dedupe_key=key).exists():
        return False
    route = referrer_route(referral)
    if route is None:
        referrer_unreachable(
            referral=referral, what=f"the update '{update.code}'", key=key, now=now
        )
        return False
    if route.channel in PULLED_CHANNELS:
        return False  # the client reads the state (and a decline's reason) from the Task
    referrer_message(
        referral=referral,
        route=route,
        purpose=Purpose.DECLINE_LETTER if declined else Purpose.STATUS_UPDATE,
        subject=f"Referral update from {settings.REFLOOP_PRACTICE_NAME}",
        body=f"Referral {referral.number} for {patient_line(referral)}: {update.text}",
        dedupe_key=key,
        document_id=decline_letter_store(referral=referral, event=event).pk if declined else None,
    )
    return True


def decline_letter_store(*, referral: Referral, event: ReferralEvent):
    line = referral.service_line
    options = LoopSettings.objects.filter(service_line=line).first()
    alternatives = (options.decline_alternatives if options else "") or DEFAULT_ALTERNATIVES
    call = line.phone or settings.REFLOOP_PRACTICE_PHONE
    sections = [Section("Reason", DeclineReason(event.code).label if event.code else "—")]
    if event.note:
        sections.append(Section("Comments from the reviewing clinician", event.note))
    sections += [
        Section("Other options", alternatives),
        Section("Questions", f"Call {line.name} at {call}. We can reconsider with new findings."),
    ]
    pdf = pdf_letter(
        title="Referral declined",
        preamble=[
            f"To: {referral.referring_clinician}",
            f"Date: {timezone.localdate():%B %-d, %Y}",
            f"Re: referral {referral.number}, {patient_line(referral)}",
        ],
        sections=sections,
        footer=f"Referral {referral.number}",
        metadata_title="Decline letter",
    )
    return document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(
            kind=DocumentKind.OTHER,
            filename="decline-letter.pdf",
            content=pdf,
            title="Decline letter",
        ),
        actor=None,
        match_checklist=False,
    )


def digest_send(*, clinician, events: list[ReferralEvent], day: dt.date, now) -> bool:
    """One message listing a day's updates of a referrer's referrals by number and initials."""
    lines = []
    for event in events:
        update = update_for(event)
        if update is not None:
            referral = event.referral
            lines.append(f"{referral.number} ({initials(referral.patient)}): {update.text}")
    if not lines:
        return False
    first = events[0].referral
    key = f"digest:{clinician.pk}:{day.isoformat()}"
    route = clinician_route(clinician, first.referring_organization)
    if route is None:
        referrer_unreachable(referral=first, what="the daily digest", key=key, now=now)
        return False
    referrer_message(
        referral=None,
        route=route,
        purpose=Purpose.DIGEST,
        subject=f"Your referrals at {settings.REFLOOP_PRACTICE_NAME}: {day:%b %-d}",
        body=f"Updates on your referrals, {day:%B %-d, %Y}:\n" + "\n".join(lines),
        dedupe_key=key,
        clinician_id=clinician.pk,
    )
    return True
