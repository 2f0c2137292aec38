"""The consult report: written in the app or uploaded, sent to the referrer (which closes the
referral), then delivered and acknowledged, which are tracked apart from sending."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from refloop.core.errors import DomainError, Gone, NotFound
from refloop.core.pdf import Section, pdf_letter
from refloop.directory.enums import DocumentKind
from refloop.loop.models import (
    REPORT_SECTIONS,
    ConsultReport,
    ReportAcknowledgement,
    ReportSent,
    ReportTemplate,
)
from refloop.loop.services.referrer import (
    REPORT_CHANNEL,
    patient_line,
    referral_with_referrer,
    referrer_message,
    referrer_route,
)
from refloop.messaging.enums import Purpose
from refloop.referrals.enums import Milestone, State
from refloop.referrals.models import Referral
from refloop.referrals.services import (
    IncomingDocument,
    files_removed_on_failure,
    milestone_record,
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
        document = document_store(
            referral=referral_with_referrer(referral_id), incoming=report, actor=actor
        )
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


# The report written in the app ----------------------------------------------------------------

ACK_VALID_FOR = dt.timedelta(days=30)
WRITABLE_STATES = frozenset({State.SCHEDULED, State.NO_SHOW, State.COMPLETED})
SECTION_FIELDS = tuple(field for field, _ in REPORT_SECTIONS)


def consult_report_save(*, referral_id: int, texts: dict[str, str], actor) -> ConsultReport:
    """Save the draft (created from the service line's template the first time)."""
    require(actor, "close_referral")
    with transaction.atomic():
        referral = referral_with_referrer(referral_id)
        report = ConsultReport.objects.select_for_update().filter(referral=referral).first()
        if report is not None and report.status == ConsultReport.Status.FINAL:
            raise DomainError("This report has been sent and can no longer change.", code="final")
        if referral.state not in WRITABLE_STATES:
            raise DomainError(
                "A report is written once the patient is booked or seen.", code="state"
            )
        if report is None:
            report = consult_report_start(referral)
        for field in SECTION_FIELDS:
            if field in texts:
                setattr(report, field, texts[field].strip())
        report.author = actor
        report.save()
    return report


def consult_report_start(referral: Referral) -> ConsultReport:
    """An unsaved draft with the template's texts (what the form shows the first time)."""
    template = ReportTemplate.objects.filter(service_line_id=referral.service_line_id).first()
    report = ConsultReport(referral=referral, template=template)
    for field in SECTION_FIELDS:
        setattr(report, field, getattr(template, field) if template else "")
    return report


def consult_report_send(
    *, referral_id: int, actor, expected_version: int | None = None
) -> ReportSent:
    """Render the draft to PDF, send it by the referrer's channel and close the referral through
    report_send. The message carries the PDF, whose cover has the acknowledgement link."""
    require(actor, "close_referral")
    referral = referral_with_referrer(referral_id)
    report = ConsultReport.objects.filter(referral=referral).first()
    if report is None or report.status == ConsultReport.Status.FINAL:
        raise DomainError("Write the report first.", code="no_draft")
    if not report.findings.strip():
        raise DomainError("The report has no findings yet.", code="empty_report")
    route = referrer_route(referral)
    if route is None:
        raise DomainError(
            "There is no way to reach the referrer: add their fax number or Direct address in "
            "the directory, or send the report yourself and upload it.",
            code="unreachable",
        )
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        now = timezone.now()
        sent = report_send(
            referral_id=referral_id,
            incoming=IncomingDocument(
                kind=DocumentKind.REPORT,
                filename="consult-report.pdf",
                content=_report_pdf(referral, report, token),
                title="Consult report",
            ),
            channel=REPORT_CHANNEL[route.channel],
            actor=actor,
            expected_version=expected_version,
        )
        ReportAcknowledgement.objects.create(
            report_sent=sent,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + ACK_VALID_FOR,
        )
        message, _ = referrer_message(
            referral=referral,
            route=route,
            purpose=Purpose.REPORT,
            subject=f"Consult report from {settings.REFLOOP_PRACTICE_NAME}",
            body=(
                f"Consult report for referral {referral.number}, {patient_line(referral)}.\n"
                f"Acknowledge receipt: {ack_link(token)}"
            ),
            dedupe_key=f"report:{sent.pk}",
            document_id=sent.document_id,
        )
        sent.message = message
        sent.save(update_fields=["message"])
        report.status = ConsultReport.Status.FINAL
        report.finalised_at = now
        report.document = sent.document
        report.save()
    return sent


def _report_pdf(referral: Referral, report: ConsultReport, token: str) -> bytes:
    return pdf_letter(
        title="Consult report",
        preamble=[
            f"To: {referral.referring_clinician}",
            f"Date: {timezone.localdate():%B %-d, %Y}",
            f"Re: referral {referral.number}, {patient_line(referral)}",
            f"Service: {referral.service_line.name}",
        ],
        sections=[Section(heading, getattr(report, field)) for field, heading in REPORT_SECTIONS],
        footer=f"Acknowledge receipt: {ack_link(token)}",
        metadata_title="Consult report",
    )


def ack_link(token: str) -> str:
    return f"{settings.REFLOOP_BASE_URL}/r/ack/{token}/"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Delivery and acknowledgement -----------------------------------------------------------------


def report_delivered(*, report_sent_id: int, at: dt.datetime, actor=None) -> ReportSent:
    """The report reached the referrer (the provider confirmed, or staff saw the fax
    confirmation page). Recorded once: the first confirmation wins."""
    require(actor, "close_referral")
    with transaction.atomic():
        sent = _report_sent(report_sent_id)
        if sent.delivered_at is not None:
            return sent
        at = max(at, sent.sent_at)
        milestone_record(
            referral_id=sent.referral_id,
            milestone=Milestone.REPORT_DELIVERED,
            actor=actor,
            occurred_at=at,
            details={"report_sent_id": sent.pk},
        )
        sent.delivered_at = at
        sent.save(update_fields=["delivered_at"])
    return sent


def report_acknowledged_record(
    *, report_sent_id: int, actor, at: dt.datetime | None = None, details: dict | None = None
) -> ReportSent:
    """The referrer acknowledged the report (by the link, or staff heard it by phone)."""
    require(actor, "close_referral")
    with transaction.atomic():
        sent = _report_sent(report_sent_id)
        if sent.acknowledged_at is not None:
            return sent
        at = max(at or timezone.now(), sent.sent_at)
        milestone_record(
            referral_id=sent.referral_id,
            milestone=Milestone.REPORT_ACKNOWLEDGED,
            actor=actor,
            occurred_at=at,
            details={"report_sent_id": sent.pk, **(details or {})},
        )
        sent.acknowledged_at = at
        sent.save(update_fields=["acknowledged_at"])
    return sent


def report_acknowledge_by_link(*, token: str, now: dt.datetime | None = None) -> None:
    """The no-login link: valid once, until it expires. Errors say nothing about the report."""
    now = now or timezone.now()
    with transaction.atomic():
        ack = ReportAcknowledgement.objects.filter(token_hash=_hash(token)).first()
        if ack is None:
            raise NotFound("This link is not valid.")
        if ack.used_at is not None:
            raise Gone("This link has already been used. Thank you.")
        if ack.expires_at <= now:
            raise Gone("This link has expired. Please call us to confirm receipt.")
        # The conditional update is the single use: two clicks at once, one wins.
        if not ReportAcknowledgement.objects.filter(pk=ack.pk, used_at__isnull=True).update(
            used_at=now
        ):
            raise Gone("This link has already been used. Thank you.")
        report_acknowledged_record(
            report_sent_id=ack.report_sent_id,
            actor=None,
            at=now,
            details={"acknowledgement_id": ack.pk},
        )


def _report_sent(report_sent_id: int) -> ReportSent:
    sent = ReportSent.objects.select_for_update().filter(pk=report_sent_id).first()
    if sent is None:
        raise NotFound("No such report.")
    return sent
