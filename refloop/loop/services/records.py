"""Missing records: ask the referrer through their channel, ask again after N business days,
escalate to the managers after M, stop as soon as the checklist is complete."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from refloop.alerts.queries import holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.calendar import practice_calendar
from refloop.core.errors import DomainError
from refloop.core.pdf import Section, pdf_letter
from refloop.directory.enums import DocumentKind
from refloop.loop.models import RecordsRequest
from refloop.loop.services.referrer import (
    MANAGER_PERMISSION,
    patient_line,
    referral_with_referrer,
    referrer_message,
    referrer_route,
    referrer_unreachable,
)
from refloop.messaging.enums import Purpose
from refloop.referrals.enums import CHECKLIST_DONE, BlockerKind, ChecklistStatus
from refloop.referrals.models import Referral, ReferralBlocker
from refloop.referrals.services import (
    IncomingDocument,
    blocker_open,
    checklist_item_set,
    document_add,
    files_removed_on_failure,
    require,
)

# Automatic asks stop after this many; by then the managers have been told (escalation).
MAX_ASKS = 5


def records_request(*, referral_id: int, actor, now: dt.datetime | None = None) -> RecordsRequest:
    """Ask the referrer for every checklist item not yet in: the items become requested, the
    missing-records blocker opens, and one letter goes by the referrer's channel. Asking again
    while a request is open sends a new ask on the same request."""
    require(actor, "receive_referral", "schedule_referral")
    now = now or timezone.now()
    with files_removed_on_failure(), transaction.atomic():
        referral = referral_with_referrer(referral_id)
        if not referral.is_open:
            raise DomainError("This referral has ended.", code="ended")
        missing = list(referral.checklist.exclude(status__in=CHECKLIST_DONE))
        if not missing:
            raise DomainError(
                "Every checklist item is in: there is nothing to ask for.", code="nothing_missing"
            )
        for item in missing:
            if item.status == ChecklistStatus.REQUIRED:
                checklist_item_set(item=item, status=ChecklistStatus.REQUESTED, actor=actor)
        blocker_open(referral_id=referral.pk, kind=BlockerKind.MISSING_RECORDS, actor=actor)
        request = (
            RecordsRequest.objects.select_for_update()
            .filter(referral=referral, resolved_at__isnull=True)
            .first()
        )
        if request is None:
            days = referral.service_line.records_escalate_days
            request = RecordsRequest.objects.create(
                referral=referral,
                requested_by=actor,
                first_asked_at=now,
                asked_at=now,
                escalate_at=_business_days_after(now, days),
            )
        _ask(request, referral, [item.name for item in missing], now=now, actor=actor)
    return request


def records_follow_up(*, request_id: int, now: dt.datetime) -> RecordsRequest:
    """The scheduler's turn on one request: resolve it if nothing is missing any more, escalate
    once when due, ask again when due."""
    with files_removed_on_failure(), transaction.atomic():
        request = RecordsRequest.objects.select_for_update().get(pk=request_id)
        referral = referral_with_referrer(request.referral_id)
        missing = list(
            referral.checklist.exclude(status__in=CHECKLIST_DONE).values_list("name", flat=True)
        )
        if request.resolved_at is None and (not missing or not referral.is_open):
            request.resolved_at = now
            request.next_ask_at = None
        escalate = request.escalate_at and request.escalate_at <= now
        if request.is_open and escalate and request.escalated_at is None:
            _escalate(request, referral, now)
        if request.is_open and request.next_ask_at and request.next_ask_at <= now:
            _ask(request, referral, missing, now=now, actor=None)
        request.lease_until = None
        request.save()
    return request


def records_resolve(*, referral_id: int, now: dt.datetime | None = None) -> int:
    """No more asks for this referral (its missing-records blocker was resolved).

    The event that calls this may be handled late or twice (loop.jobs re-reads recent events):
    if the blocker is open again, records were asked for since, and that request stays open."""
    reopened = ReferralBlocker.objects.filter(
        referral_id=referral_id, kind=BlockerKind.MISSING_RECORDS, resolved_at__isnull=True
    )
    if reopened.exists():
        return 0
    return RecordsRequest.objects.filter(referral_id=referral_id, resolved_at__isnull=True).update(
        resolved_at=now or timezone.now(), next_ask_at=None
    )


def _ask(request: RecordsRequest, referral: Referral, items: list[str], *, now, actor) -> None:
    request.ask_count += 1
    request.items = items
    request.asked_at = now
    request.next_ask_at = (
        _business_days_after(now, referral.service_line.records_reask_days)
        if request.ask_count < MAX_ASKS
        else None
    )
    request.save()
    key = f"records:{request.pk}:{request.ask_count}"
    route = referrer_route(referral, asks_something=True)
    if route is None:
        referrer_unreachable(
            referral=referral, what="the request for missing records", key=key, now=now
        )
        return
    document = document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(
            kind=DocumentKind.OTHER,
            filename="records-request.pdf",
            content=_letter(referral, items, request.ask_count),
            title="Records request",
        ),
        actor=actor,
        match_checklist=False,
    )
    referrer_message(
        referral=referral,
        route=route,
        purpose=Purpose.RECORDS_REQUEST,
        subject="Records needed for a referral",
        body=(
            f"Referral {referral.number} for {patient_line(referral)}: we still need "
            f"{', '.join(items)}. Please send them so we can schedule the patient."
        ),
        dedupe_key=key,
        document_id=document.pk,
    )


def _escalate(request: RecordsRequest, referral: Referral, now) -> None:
    alerts_raise(
        specs=[
            AlertSpec(
                key=f"records_escalated:{request.pk}",
                recipient_ids=tuple(holders_of(MANAGER_PERMISSION)),
                kind="records_escalated",
                referral_id=referral.pk,
                level="urgent",
                text=(
                    f"{referral.number}: records asked of the referrer "
                    f"{request.ask_count} time(s) since "
                    f"{timezone.localtime(request.first_asked_at):%b %-d} have not arrived."
                ),
            )
        ],
        now=now,
    )
    request.escalated_at = now


def _letter(referral: Referral, items: list[str], ask_count: int) -> bytes:
    line = referral.service_line
    where = [
        f"Fax: {line.fax}" if line.fax else "",
        f"Direct: {line.secure_email}" if line.secure_email else "",
        f"Phone: {line.phone}" if line.phone else "",
    ]
    return pdf_letter(
        title="Records request" + (f" (reminder {ask_count - 1})" if ask_count > 1 else ""),
        preamble=[
            f"To: {referral.referring_clinician or referral.referrer_as_given}",
            f"Date: {timezone.localdate():%B %-d, %Y}",
            f"Re: referral {referral.number}, {patient_line(referral)}",
        ],
        sections=[
            Section(
                "We need these records before we can schedule your patient",
                "\n".join(f"• {item}" for item in items),
            ),
            Section(
                "Where to send them",
                "\n".join(p for p in where if p) or "Fax us or call us at the numbers above.",
            ),
        ],
        footer=f"Please quote referral {referral.number} with the records.",
        metadata_title="Records request",
    )


def _business_days_after(start: dt.datetime, days: int) -> dt.datetime:
    calendar = practice_calendar()
    return calendar.add(start, max(1, days) * calendar.hours.seconds_per_day)
