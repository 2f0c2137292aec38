"""What an office does in the portal: send the records asked for, open a report sent back.

The portal has checked that the referral is the office's own before calling these; they act as
the portal channel (actor None, a trusted system channel), and the access log names the person."""

from __future__ import annotations

from django.utils import timezone

from refloop.core.errors import DomainError, NotFound
from refloop.loop.models import ReportSent
from refloop.loop.services import report_delivered
from refloop.referrals.enums import CHECKLIST_DONE
from refloop.referrals.models import Document, Referral
from refloop.referrals.services import IncomingDocument, document_add


def office_records_send(
    *, referral: Referral, item_id: int, filename: str, content: bytes
) -> Document:
    """One file for one checklist item still open: stored on the referral, and the item ticks
    (document_add matches it by kind). When nothing is missing any more, the missing-records
    blocker resolves and loop's RecordsRequest stops asking (records_resolve)."""
    if not referral.is_open:
        raise DomainError("This referral has ended; records are no longer needed.", code="ended")
    item = referral.checklist.exclude(status__in=CHECKLIST_DONE).filter(pk=item_id).first()
    if item is None:
        raise DomainError("That record is not asked for (any more).", code="not_asked")
    return document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(
            kind=item.document_kind, filename=filename, content=content, title=item.name
        ),
        actor=None,
    )


def office_report_open(*, referral: Referral, report_sent_id: int) -> ReportSent:
    """The office opened a report in the portal: that is delivery (DESIGN.md: "read in the
    portal"), recorded once."""
    sent = ReportSent.objects.filter(pk=report_sent_id, referral=referral).first()
    if sent is None:
        raise NotFound("No such report.")
    if sent.delivered_at is None:
        report_delivered(report_sent_id=sent.pk, at=timezone.now(), actor=None)
    return sent
