"""Sending the consult report back to the referrer: it closes the loop."""

from django.db import transaction
from django.utils import timezone

from refloop.core.errors import DomainError, NotFound
from refloop.directory.enums import DocumentKind
from refloop.loop.models import ReportSent
from refloop.referrals.enums import State
from refloop.referrals.models import Referral
from refloop.referrals.services import (
    IncomingDocument,
    files_removed_on_failure,
    referral_transition,
    require,
)
from refloop.referrals.services.documents import document_check, document_store


def report_send(
    *,
    referral_id: int,
    incoming: IncomingDocument,
    channel: str,
    actor,
    expected_version: int | None = None,
) -> ReportSent:
    """Attach the report and record it as sent by `channel`; the referral becomes closed."""
    require(actor, "close_referral")
    if channel not in ReportSent.Channel.values:
        raise DomainError("Choose how the report was sent.", code="channel")
    document_check(incoming)
    with files_removed_on_failure(), transaction.atomic():
        now = timezone.now()
        report = IncomingDocument(
            kind=DocumentKind.REPORT,
            filename=incoming.filename,
            content=incoming.content,
            title=incoming.title or "Consult report",
        )
        # The report is stored first: a referral closes only with its report on file.
        document = document_store(referral=_referral(referral_id), incoming=report, actor=actor)
        referral = referral_transition(
            referral_id=referral_id,
            to_state=State.CLOSED,
            actor=actor,
            occurred_at=now,
            expected_version=expected_version,
            details={"channel": channel},
            report_document_id=document.pk,
        )
        return ReportSent.objects.create(
            referral=referral, document=document, channel=channel, sent_at=now, sent_by=actor
        )


def _referral(referral_id: int) -> Referral:
    referral = Referral.objects.filter(pk=referral_id).first()
    if referral is None:
        raise NotFound("No such referral.")
    return referral
