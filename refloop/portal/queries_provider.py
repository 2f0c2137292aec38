"""What a service line's provider page, service sheet and referral packet say to referring
clinicians, read once so the three say the same.

Two kinds of words on them, kept apart on purpose:
- the text a compliance reviewer approved: the line's content of kind provider_page (for the
  service sheet, an approved service_sheet first), the version usable today
  (content.queries.line_content: approved and unexpired). No usable version: no such text at
  all, only the facts. An approved text stands in for the fact sections its kind is written to
  hold (COVERS: a provider page's text says whom we see, what to send and the urgent pathway; a
  service sheet's says whom we see), so the page does not say them twice;
- the facts, which need no approval: the line's criteria, required records and contacts from the
  directory, and its turnaround as measured by analytics.turnaround. The measured figures change
  with the referrals and are printed beside the approved text, never inside it, so a change in
  the figures needs no new approval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from refloop.analytics.charts.layout import number_text
from refloop.analytics.turnaround import LineTurnaround, line_turnaround, turnaround_all
from refloop.content.enums import ContentKind
from refloop.content.models import ContentVersion
from refloop.content.preview import body_html
from refloop.content.queries import content_usable_versions, line_content
from refloop.directory.enums import Priority, TargetKind
from refloop.directory.models import ChecklistTemplateItem, ResponseTarget, ServiceLine

NOT_ENOUGH = "Not enough data"
# The fact sections an approved text of each kind is written to hold (see the docstring).
COVERS = {
    ContentKind.PROVIDER_PAGE: frozenset({"criteria", "records", "urgent"}),
    ContentKind.SERVICE_SHEET: frozenset({"criteria"}),
}


@dataclass(frozen=True)
class Measured:
    """One measured figure in the words every page prints."""

    label: str
    value: str  # "2.1 business hours", or NOT_ENOUGH
    n: int
    enough: bool

    @property
    def basis(self) -> str:
        noun = "referral" if self.n == 1 else "referrals"
        return f"{self.n:,} {noun}"


@dataclass(frozen=True)
class ProviderPage:
    line: ServiceLine
    checklist: tuple[ChecklistTemplateItem, ...]
    approved: ContentVersion | None  # the approved text, None: facts only
    turnaround: LineTurnaround
    acknowledgement: Measured
    appointment: Measured
    target_text: str  # "30 days" or ""
    held_text: str  # the honest notice when waits exceed the target, else ""
    urgent_text: str  # the urgent pathway

    def shows(self, section: str) -> bool:
        """Whether the fact section ("criteria", "records", "urgent") is printed: always without
        approved text, else unless the approved text's kind holds it."""
        if self.approved is None:
            return True
        return section not in COVERS.get(self.approved.item.kind, frozenset())

    @property
    def approved_html(self) -> str:
        """The approved text as the content library previews it (escaped; headings, lists)."""
        return body_html(self.approved.body) if self.approved else ""

    @property
    def show_criteria(self) -> bool:
        return self.shows("criteria")

    @property
    def show_records(self) -> bool:
        return self.shows("records")

    @property
    def show_urgent(self) -> bool:
        return self.shows("urgent")

    @property
    def figures(self) -> tuple[Measured, Measured]:
        return (self.acknowledgement, self.appointment)

    @property
    def window_text(self) -> str:
        t = self.turnaround
        return (
            f"routine referrals received {t.window_start:%b} {t.window_start.day}, "
            f"{t.window_start.year} to {t.window_end:%b} {t.window_end.day}, {t.window_end.year} "
            f"(the last {t.window_days} days)"
        )


def provider_approved_text(
    *, service_line: ServiceLine, kinds: tuple[str, ...], on: dt.date
) -> ContentVersion | None:
    """The line's usable text of the first of `kinds` that has one (content.line_content)."""
    for kind in kinds:
        version = line_content(service_line_id=service_line.pk, kind=kind, on=on)
        if version is not None:
            return version
    return None


def provider_page(*, service_line: ServiceLine, pdf: bool = False) -> ProviderPage:
    """The page's (or, with `pdf`, the sheet's and packet's) content for today."""
    kinds = (ContentKind.PROVIDER_PAGE,)
    if pdf:
        kinds = (ContentKind.SERVICE_SHEET, ContentKind.PROVIDER_PAGE)
    measured = line_turnaround(service_line=service_line)
    return ProviderPage(
        line=service_line,
        checklist=tuple(service_line.checklist.all()),
        approved=provider_approved_text(
            service_line=service_line, kinds=kinds, on=timezone.localdate()
        ),
        turnaround=measured,
        acknowledgement=_acknowledgement(measured),
        appointment=_appointment(measured),
        target_text=_whole_days(measured.target_days) if measured.target_days is not None else "",
        held_text=_held(measured),
        urgent_text=_urgent(service_line),
    )


@dataclass(frozen=True)
class IndexRow:
    line: ServiceLine
    acknowledgement: Measured
    appointment: Measured
    over_target: bool


def provider_index() -> list[IndexRow]:
    """Every active line with its measured turnaround (one query; figures from the cache)."""
    table = turnaround_all()
    rows = []
    for line in ServiceLine.objects.filter(active=True).only("id", "code", "name", "description"):
        measured = table.get(line.name)
        if measured is None:  # a line made since the figures were cached
            measured = line_turnaround(service_line=line)
        rows.append(
            IndexRow(
                line,
                _acknowledgement(measured),
                _appointment(measured),
                measured.over_target is True,
            )
        )
    return rows


def _acknowledgement(t: LineTurnaround) -> Measured:
    value = (
        _hours(t.acknowledgement_hours)
        if t.acknowledgement_enough and t.acknowledgement_hours is not None
        else NOT_ENOUGH
    )
    return Measured(
        "Referral acknowledged (median)", value, t.acknowledgement_n, t.acknowledgement_enough
    )


def _appointment(t: LineTurnaround) -> Measured:
    value = (
        _days(t.days_to_appointment, over=t.target_days)
        if t.days_to_appointment_enough and t.days_to_appointment is not None
        else NOT_ENOUGH
    )
    return Measured(
        "Referral to appointment (median)",
        value,
        t.days_to_appointment_n,
        t.days_to_appointment_enough,
    )


def _held(t: LineTurnaround) -> str:
    if t.over_target is not True:
        return ""
    return (
        "Waits are currently longer than our target. Over the last "
        f"{t.window_days} days, routine patients waited a median of "
        f"{_days(t.days_to_appointment, over=t.target_days)} from referral to appointment "
        f"({t.days_to_appointment_n:,} referrals); our target is {_whole_days(t.target_days)}."
    )


def _urgent(line: ServiceLine) -> str:
    """The urgent pathway in words, with the line's urgent targets (targets, not measurements)."""
    targets = dict(
        ResponseTarget.objects.filter(service_line=line, priority=Priority.URGENT).values_list(
            "kind", "amount"
        )
    )
    phone = line.phone or settings.REFLOOP_PRACTICE_PHONE
    parts = [
        "For an urgent referral, choose Urgent on the online form or write URGENT at the top of "
        f"the fax, and call {phone} so the team expects it."
    ]
    ack, appointment = targets.get(TargetKind.ACKNOWLEDGE), targets.get(TargetKind.APPOINTMENT)
    if ack and appointment:
        parts.append(
            f"Our target for urgent referrals is to acknowledge them within {ack} business "
            f"hours and to see the patient within {_whole_days(appointment)}."
        )
    parts.append(
        "For an emergency, send the patient to the emergency department: do not use a referral."
    )
    return " ".join(parts)


def _hours(value: float) -> str:
    return f"{number_text(value)} business hours"


def _days(value: float, *, over: int | None = None) -> str:
    """A measured number of days as the dashboards print it (number_text); one decimal when the
    rounded figure would read as the target it is over (30.2 days against 30 days)."""
    text = number_text(value)
    if over is not None and value > over and text == _number(over):
        text = f"{value:,.1f}"
    return f"{text} days"


def _whole_days(amount: int) -> str:
    """A target in whole calendar days."""
    return "1 day" if amount == 1 else f"{amount:,} days"


def _number(amount: int) -> str:
    return f"{amount:,}"


@dataclass(frozen=True)
class PageStatus:
    """A line's provider page as staff see it: its figures, whether access is held, and which
    approved text it shows (None: facts only)."""

    row: IndexRow
    turnaround: LineTurnaround
    approved: ContentVersion | None


def provider_pages_status() -> list[PageStatus]:
    """Every active line's provider page status in a few queries (lines, usable provider page
    versions, and the turnaround unless cached). The text chosen per line is the page's own
    (content.line_content's rule: the most recently approved usable version)."""
    rows = provider_index()
    usable = content_usable_versions(on=timezone.localdate(), kind=ContentKind.PROVIDER_PAGE)
    shown: dict[int, ContentVersion] = {}
    for version in usable:
        line_id = version.item.service_line_id
        current = shown.get(line_id)
        if current is None or _approved_later(version, current):
            shown[line_id] = version
    table = turnaround_all()
    return [
        PageStatus(
            row,
            table.get(row.line.name) or line_turnaround(service_line=row.line),
            shown.get(row.line.pk),
        )
        for row in rows
    ]


def _approved_later(one: ContentVersion, other: ContentVersion) -> bool:
    far = dt.datetime.min.replace(tzinfo=dt.UTC)
    return (one.state_changed_at or far, one.pk) > (other.state_changed_at or far, other.pk)
