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
