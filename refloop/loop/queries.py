"""Reads of the loop: what the referral page shows about records asked for, the report, its
delivery and acknowledgement, and the follow-ups (a fixed number of queries)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from refloop.loop.models import (
    REPORT_SECTIONS,
    ConsultReport,
    FollowUpItem,
    RecordsRequest,
    ReportSent,
)


@dataclass
class LoopPage:
    records_requests: list[RecordsRequest]
    report: ConsultReport | None
    report_sections: list[tuple[str, str]]
    reports_sent: list[ReportSent]
    follow_ups: list[tuple[FollowUpItem, bool]] = field(default_factory=list)

    @property
    def open_request(self) -> RecordsRequest | None:
        return next((r for r in self.records_requests if r.is_open), None)

    @property
    def undelivered(self) -> list[ReportSent]:
        return [r for r in self.reports_sent if r.delivered_at is None]

    @property
    def unacknowledged(self) -> list[ReportSent]:
        return [r for r in self.reports_sent if r.acknowledged_at is None]


def loop_for_page(*, referral_id: int) -> LoopPage:
    now = timezone.now()
    report = ConsultReport.objects.filter(referral_id=referral_id).first()
    return LoopPage(
        records_requests=list(
            RecordsRequest.objects.filter(referral_id=referral_id).order_by("-first_asked_at")
        ),
        report=report,
        report_sections=[
            (heading, getattr(report, name)) for name, heading in REPORT_SECTIONS if report
        ],
        reports_sent=list(
            ReportSent.objects.filter(referral_id=referral_id).select_related("message")
        ),
        follow_ups=[
            (item, item.is_overdue(now))
            for item in FollowUpItem.objects.filter(referral_id=referral_id)
        ],
    )


def report_sent_open(*, referral_id: int, delivered: bool | None = None, acknowledged=None):
    """Reports sent for this referral still waiting on delivery or acknowledgement."""
    rows = ReportSent.objects.filter(referral_id=referral_id)
    if delivered is False:
        rows = rows.filter(delivered_at__isnull=True)
    if acknowledged is False:
        rows = rows.filter(acknowledged_at__isnull=True)
    return rows.order_by("-sent_at", "-id")
