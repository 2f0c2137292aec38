"""What a new referral starts from (its service line's checklist and targets, the practice's
closures) is read with every referral in one query, and the calendar built from the closures is
kept per process: an edit must apply to the very next referral."""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from refloop.core.errors import DomainError
from refloop.core.models import Closure
from refloop.directory.enums import DocumentKind, Priority, TargetKind
from refloop.directory.models import ChecklistTemplateItem, ResponseTarget
from refloop.referrals.enums import BlockerKind, ChecklistStatus
from refloop.referrals.queries import line_rules
from refloop.referrals.services import ReferrerData, referral_receive
from refloop.referrals.services.intake import calendar_with
from tests import factories

# A Monday morning in the practice's time zone (business hours 8 to 17 by default).
MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def receive(line, clinician, intake, **changes):
    submission = factories.submission(
        line=line, clinician=clinician, documents=[factories.notes_pdf()], **changes
    )
    return referral_receive(submission=submission, actor=intake).referral


def checklist(referral) -> dict[str, str]:
    return dict(referral.checklist.values_list("document_kind", "status"))


def clock_due(referral, kind: str) -> dt.datetime:
    return referral.clocks.get(kind=kind).due_at


def test_it_gives_the_next_referral_the_checklist_as_edited(line, clinician, intake):
    first = receive(line, clinician, intake)
    ChecklistTemplateItem.objects.create(
        service_line=line, name="Knee X-ray", document_kind=DocumentKind.IMAGING, position=5
    )

    second = receive(line, clinician, intake)

    assert checklist(first) == {DocumentKind.NOTES: ChecklistStatus.RECEIVED}
    assert checklist(second) == {
        DocumentKind.NOTES: ChecklistStatus.RECEIVED,
        DocumentKind.IMAGING: ChecklistStatus.REQUIRED,
    }
    assert second.open_blocker_count == 1
    assert set(second.blockers.values_list("kind", flat=True)) == {BlockerKind.MISSING_RECORDS}

    ChecklistTemplateItem.objects.filter(service_line=line).delete()
    assert checklist(receive(line, clinician, intake)) == {}


def test_it_keeps_the_checklist_in_its_order_and_ticks_the_first_item_of_a_kind(clinician, intake):
    line = factories.service_line(
        code="cardiology", checklist=(DocumentKind.LABS, DocumentKind.NOTES, DocumentKind.NOTES)
    )
    ChecklistTemplateItem.objects.filter(service_line=line, position=0).update(position=9)

    referral = receive(line, clinician, intake)

    rows = list(referral.checklist.order_by("pk").values_list("document_kind", "status"))
    assert rows == [
        (DocumentKind.NOTES, ChecklistStatus.RECEIVED),
        (DocumentKind.NOTES, ChecklistStatus.REQUIRED),
        (DocumentKind.LABS, ChecklistStatus.REQUIRED),
    ]
    ticked = referral.checklist.get(status=ChecklistStatus.RECEIVED)
    assert ticked.document == referral.documents.get()


def test_it_refuses_a_referral_to_a_line_closed_since_the_last(line, clinician, intake):
    receive(line, clinician, intake)
    line.active = False
    line.save()

    with pytest.raises(DomainError, match="active service line"):
        receive(line, clinician, intake)


def test_it_starts_the_clocks_on_the_targets_as_edited(line, clinician, intake):
    first = receive(line, clinician, intake, received_at=MONDAY)
    ResponseTarget.objects.filter(
        service_line=line, priority=Priority.ROUTINE, kind=TargetKind.TRIAGE
    ).update(amount=2)

    second = receive(line, clinician, intake, received_at=MONDAY)

    assert clock_due(first, TargetKind.TRIAGE) != clock_due(second, TargetKind.TRIAGE)
    assert clock_due(second, TargetKind.TRIAGE) == MONDAY + dt.timedelta(hours=2)
    assert second.next_due_at == min(c.due_at for c in second.clocks.all())


def test_it_counts_a_closure_added_since_the_last_referral(line, clinician, intake):
    first = receive(line, clinician, intake, received_at=MONDAY)
    Closure.objects.create(date=MONDAY.date(), description="Snow day")

    second = receive(line, clinician, intake, received_at=MONDAY)
    Closure.objects.all().delete()
    third = receive(line, clinician, intake, received_at=MONDAY)

    # Closed on Monday: the business hours start on Tuesday, one business day later.
    assert clock_due(second, TargetKind.TRIAGE) > clock_due(first, TargetKind.TRIAGE)
    assert clock_due(third, TargetKind.TRIAGE) == clock_due(first, TargetKind.TRIAGE)


def test_it_writes_the_referral_with_its_due_times_and_blockers(line, intake):
    submission = dataclasses.replace(
        factories.submission(line=line, received_at=MONDAY), referrer=ReferrerData(name="Dr X")
    )
    referral = referral_receive(submission=submission, actor=intake).referral
    referral.refresh_from_db()

    clocks = list(referral.clocks.all())
    assert referral.open_blocker_count == 2  # records missing, referrer not verified
    # Waiting on others from the start: the clocks are paused from the moment it came.
    assert clocks and all(c.paused_since == MONDAY for c in clocks)
    assert referral.next_due_at == min((c.due_at for c in clocks if c.due_at), default=None)


def test_it_reads_a_lines_rules_in_one_query(line, django_assert_num_queries):
    Closure.objects.create(date=dt.date(2026, 12, 24), description="Christmas Eve")
    with django_assert_num_queries(1):
        rules = line_rules(service_line_id=line.pk, priority=Priority.URGENT)
    assert rules.active
    assert rules.checklist == ((DocumentKind.NOTES.label, DocumentKind.NOTES),)
    assert set(rules.targets) == set(TargetKind.values)
    assert rules.closures == frozenset({dt.date(2026, 12, 24)})
    assert not line_rules(service_line_id=line.pk + 1000, priority=Priority.URGENT).active


def test_it_keeps_one_calendar_per_set_of_closures_and_knows_the_holidays():
    snow_day = dt.date(2027, 2, 3)
    plain, closed = calendar_with(frozenset()), calendar_with(frozenset({snow_day}))

    assert calendar_with(frozenset()) is plain
    assert closed is not plain
    assert plain.is_business_day(snow_day) and not closed.is_business_day(snow_day)
    # Independence Day 2027 falls on a Sunday: observed on Monday the 5th.
    assert not plain.is_business_day(dt.date(2027, 7, 5))
    assert plain.is_business_day(dt.date(2027, 7, 6))


def test_it_receives_a_new_referral_in_a_dozen_queries(
    line, clinician, intake, django_assert_max_num_queries
):
    """The hot path of every way in: the line's rules, the resend check, the patient and the
    referrer read, then one INSERT per table (BEGIN and COMMIT counted where they are logged)."""
    submission = factories.submission(
        line=line, clinician=clinician, documents=[factories.notes_pdf()]
    )
    with django_assert_max_num_queries(13):
        assert referral_receive(submission=submission, actor=intake).created
