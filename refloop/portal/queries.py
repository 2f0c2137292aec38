"""Reads of the portal: an office's referrals, messages and reports (never another office's)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from refloop.loop.models import ReportSent
from refloop.messaging.enums import MessageChannel, MessageStatus
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import CHECKLIST_DONE, OPEN_STATES, State
from refloop.referrals.models import ChecklistItem, Referral

PAGE = 50

# Each state in the office's words: what it means for them, and what happens next.
OFFICE_STATE = {
    State.RECEIVED: ("Received", "We will review it shortly."),
    State.TRIAGE: ("Under review", "A clinician is reviewing the referral."),
    State.ACCEPTED: ("Accepted", "We will contact the patient to book a visit."),
    State.DECLINED: ("Declined", "See the letter with other options."),
    State.REDIRECTED: ("Sent on", "Sent on to a service that fits the patient better."),
    State.SCHEDULED: ("Scheduled", "The patient has a visit booked."),
    State.NO_SHOW: ("Missed visit", "The patient missed the visit; we are rebooking."),
    State.COMPLETED: ("Seen", "The patient was seen; the report follows."),
    State.CLOSED: ("Report sent", "The consult report is in the portal."),
    State.CANCELLED: ("Cancelled", "The referral was cancelled."),
}
RECORDS_NEEDED = "Send the records we asked for (below) so we can book the patient."


def office_state(referral) -> tuple[str, str]:
    """(status, next step) in office words; records asked for come first while open."""
    label, step = OFFICE_STATE[referral.state]
    if referral.state in OPEN_STATES and getattr(referral, "records_missing", False):
        step = RECORDS_NEEDED
    return label, step


def office_referrals(*, organization_id: int, page: int = 1):
    """One page of the office's referrals, newest first, each with what the list shows, in one
    query (patient and service line joined; records missing and report sent as EXISTS)."""
    missing = ChecklistItem.objects.filter(referral=OuterRef("pk")).exclude(
        status__in=CHECKLIST_DONE
    )
    rows = (
        Referral.objects.filter(referring_organization_id=organization_id)
        .select_related("patient", "service_line")
        .only(
            "id",
            "state",
            "received_at",
            "appointment_at",
            "sender_reference",
            "channel",
            "patient__first_name",
            "patient__last_name",
            "patient__birth_date",
            "service_line__name",
        )
        .annotate(
            records_missing=Exists(missing),
            report_sent=Exists(ReportSent.objects.filter(referral=OuterRef("pk"))),
        )
        .order_by("-received_at", "-id")
    )
    start = (max(page, 1) - 1) * PAGE
    return list(rows[start : start + PAGE + 1])


def office_referral(*, organization_id: int, referral_id: int) -> Referral | None:
    """The referral if it is this office's own; None otherwise (the caller answers 404)."""
    missing = ChecklistItem.objects.filter(referral=OuterRef("pk")).exclude(
        status__in=CHECKLIST_DONE
    )
    return (
        Referral.objects.select_related("patient", "service_line")
        .annotate(records_missing=Exists(missing))
        .filter(pk=referral_id, referring_organization_id=organization_id)
        .first()
    )


def office_messages(*, organization_id: int, referral_id: int | None = None, limit: int = 20):
    """Messages to the office by the portal, newest first (those not held back by a rule)."""
    rows = OutboundMessage.objects.filter(
        channel=MessageChannel.PORTAL, to_address=str(organization_id)
    ).exclude(status__in=[MessageStatus.SUPPRESSED, MessageStatus.FAILED])
    if referral_id is not None:
        rows = rows.filter(referral_id=referral_id)
    return list(rows.select_related("referral").order_by("-created_at", "-id")[:limit])


def office_message_document_ids(*, organization_id: int, referral_id: int) -> set[int]:
    """Documents the office may download on this referral: those its portal messages carried
    (letters, reports) and every report sent back (by any channel)."""
    carried = OutboundMessage.objects.filter(
        channel=MessageChannel.PORTAL,
        to_address=str(organization_id),
        referral_id=referral_id,
        document_id__isnull=False,
    ).values_list("document_id", flat=True)
    reports = ReportSent.objects.filter(referral_id=referral_id).values_list(
        "document_id", flat=True
    )
    return set(carried) | set(reports)


def office_reports(*, referral_id: int):
    return list(ReportSent.objects.filter(referral_id=referral_id).order_by("sent_at", "id"))


def office_checklist_open(*, referral) -> list[ChecklistItem]:
    return list(referral.checklist.exclude(status__in=CHECKLIST_DONE).order_by("id"))


def office_history(*, referral):
    """The referral's milestones the office hears about, in its words (loop's update texts)."""
    from refloop.loop.services.updates import UPDATE_EVENTS, update_for

    rows = []
    for event in referral.events.filter(UPDATE_EVENTS).order_by("occurred_at", "id"):
        update = update_for(event)
        if update is not None:
            rows.append((event.occurred_at, update.text))
    return rows
