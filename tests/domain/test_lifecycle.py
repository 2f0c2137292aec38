import datetime as dt
from pathlib import Path

import pytest
from django.db import DatabaseError, transaction

from refloop.access.services import appointment_book, appointment_record_outcome
from refloop.core.errors import Conflict, DomainError, NotAllowed, NotFound
from refloop.directory.enums import DocumentKind, TargetKind
from refloop.loop.models import ReportSent
from refloop.loop.services import report_send
from refloop.referrals.enums import (
    BlockerKind,
    ClockStatus,
    DeclineReason,
    EventKind,
    Milestone,
    State,
)
from refloop.referrals.models import Referral, ReferralEvent
from refloop.referrals.services import (
    IncomingDocument,
    blocker_open,
    blocker_resolve,
    document_add,
    milestone_record,
    referral_assign,
    referral_transition,
)
from tests import factories
from tests.factories import ago


def test_it_takes_a_referral_from_received_to_closed(
    line, clinician, intake, triage, scheduler, care_team
):
    referral = factories.referral(
        line=line, clinician=clinician, actor=intake, received_at=ago(days=5)
    )
    assert referral.state == State.RECEIVED
    assert referral.open_blocker_count == 0

    milestone_record(
        referral_id=referral.pk,
        milestone=Milestone.ACKNOWLEDGED,
        actor=intake,
        occurred_at=ago(days=5),
    )
    referral_transition(
        referral_id=referral.pk, to_state=State.TRIAGE, actor=intake, occurred_at=ago(days=4)
    )
    referral_transition(
        referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage, occurred_at=ago(days=3)
    )
    visit = ago(hours=3)
    appointment_book(
        referral_id=referral.pk, starts_at=visit, actor=scheduler, occurred_at=ago(days=1)
    )
    appointment_record_outcome(referral_id=referral.pk, outcome="attended", actor=scheduler)
    report_send(
        referral_id=referral.pk, incoming=factories.notes_pdf(), channel="fax", actor=care_team
    )

    referral.refresh_from_db()
    assert referral.state == State.CLOSED
    assert referral.closed_at is not None
    path = list(
        referral.events.filter(kind=EventKind.STATE_CHANGED).values_list("to_state", flat=True)
    )
    assert path == [State.TRIAGE, State.ACCEPTED, State.SCHEDULED, State.COMPLETED, State.CLOSED]
    outcomes = dict(referral.clocks.values_list("kind", "outcome"))
    assert outcomes[TargetKind.ACKNOWLEDGE] in {ClockStatus.MET, ClockStatus.MISSED}
    assert outcomes[TargetKind.REPORT] == ClockStatus.MET
    assert referral.next_due_at is None


def test_it_refuses_a_transition_the_lifecycle_does_not_allow(line, clinician, intake, triage):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    with pytest.raises(DomainError, match="cannot become accepted"):
        referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage)


def test_it_refuses_a_role_without_the_permission(line, clinician, intake, scheduler):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    with pytest.raises(NotAllowed):
        referral_transition(
            referral_id=referral.pk,
            to_state=State.DECLINED,
            actor=scheduler,
            reason=DeclineReason.NOT_INDICATED,
        )


def test_it_needs_a_coded_reason_to_decline(line, clinician, intake, triage):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    with pytest.raises(DomainError, match="coded reason"):
        referral_transition(referral_id=referral.pk, to_state=State.DECLINED, actor=triage)


def test_it_refuses_a_stale_version(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    seen = Referral.objects.get(pk=referral.pk).version
    referral_transition(
        referral_id=referral.pk, to_state=State.TRIAGE, actor=intake, expected_version=seen
    )
    with pytest.raises(Conflict):
        referral_transition(
            referral_id=referral.pk,
            to_state=State.CANCELLED,
            actor=intake,
            reason="patient_declined",
            expected_version=seen,
        )


def test_it_opens_blockers_for_missing_records_and_unknown_referrer(line, intake):
    referral = factories.referral(line=line, known_referrer=False, actor=intake, complete=False)
    kinds = set(referral.blockers.filter(resolved_at__isnull=True).values_list("kind", flat=True))
    assert kinds == {BlockerKind.MISSING_RECORDS, BlockerKind.REFERRER_NOT_VERIFIED}
    # Waiting on records pauses the clocks.
    assert referral.clocks.filter(paused_since__isnull=False).count() == 3
    assert Referral.objects.get(pk=referral.pk).next_due_at is None


def test_it_refuses_to_change_or_delete_events(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    event = referral.events.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralEvent.objects.filter(pk=event.pk).delete()
    assert ReferralEvent.objects.get(pk=event.pk).note == ""


def test_it_refuses_times_that_run_backwards(line, clinician, intake):
    referral = factories.referral(
        line=line, clinician=clinician, actor=intake, received_at=ago(hours=2)
    )
    with pytest.raises(DomainError, match="backwards"):
        referral_transition(
            referral_id=referral.pk,
            to_state=State.TRIAGE,
            actor=intake,
            occurred_at=referral.received_at - dt.timedelta(minutes=1),
        )


def test_it_refuses_a_state_that_does_not_exist_as_a_domain_error(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    with pytest.raises(DomainError, match="cannot become"):
        referral_transition(referral_id=referral.pk, to_state="bogus", actor=intake)
    assert Referral.objects.get(pk=referral.pk).version == referral.version


def test_it_answers_a_missing_referral_with_not_found(intake):
    with pytest.raises(NotFound):
        referral_transition(referral_id=987654, to_state=State.TRIAGE, actor=intake)


def test_it_refuses_to_close_without_recording_the_report_sent(
    line, clinician, intake, triage, scheduler, care_team
):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage)
    appointment_book(referral_id=referral.pk, starts_at=ago(minutes=1), actor=scheduler)
    appointment_record_outcome(referral_id=referral.pk, outcome="attended", actor=scheduler)
    # A document of kind "report" on file is not the report sent to the referrer.
    document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(kind="report", filename="r.pdf", content=factories.PDF_BYTES),
        actor=care_team,
    )
    with pytest.raises(DomainError, match="recording the consult report sent"):
        referral_transition(referral_id=referral.pk, to_state=State.CLOSED, actor=care_team)
    assert Referral.objects.get(pk=referral.pk).state == State.COMPLETED
    sent = report_send(
        referral_id=referral.pk, incoming=factories.notes_pdf(), channel="direct", actor=care_team
    )
    assert Referral.objects.get(pk=referral.pk).state == State.CLOSED
    assert sent.document.kind == DocumentKind.REPORT


def test_it_refuses_to_send_a_report_before_the_visit(line, clinician, intake, care_team, settings):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    files_before = sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    with pytest.raises(DomainError, match="cannot become closed"):
        report_send(
            referral_id=referral.pk, incoming=factories.notes_pdf(), channel="fax", actor=care_team
        )
    assert not ReportSent.objects.exists()
    assert not referral.documents.filter(kind=DocumentKind.REPORT).exists()
    files_after = sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    assert files_after == files_before


@pytest.mark.parametrize("role", ["liaison", "compliance"])
def test_it_refuses_blockers_from_roles_that_do_not_work_on_patients(
    line, clinician, intake, role, request
):
    person = request.getfixturevalue(role)
    referral = factories.referral(line=line, known_referrer=False, actor=intake)
    with pytest.raises(NotAllowed):
        blocker_open(referral_id=referral.pk, kind=BlockerKind.INFO_REQUESTED, actor=person)
    with pytest.raises(NotAllowed):
        blocker_resolve(
            referral_id=referral.pk, kind=BlockerKind.REFERRER_NOT_VERIFIED, actor=person
        )
    assert Referral.objects.get(pk=referral.pk).open_blocker_count == 1


def test_it_refuses_blocker_times_that_run_backwards_or_ahead(line, clinician, intake):
    referral = factories.referral(
        line=line, clinician=clinician, actor=intake, received_at=ago(hours=5)
    )
    open_kwargs = dict(referral_id=referral.pk, kind=BlockerKind.INFO_REQUESTED, actor=intake)
    with pytest.raises(DomainError, match="before the referral arrived"):
        blocker_open(**open_kwargs, occurred_at=ago(hours=6))
    with pytest.raises(DomainError, match="future"):
        blocker_open(**open_kwargs, occurred_at=ago(hours=-1))
    blocker_open(**open_kwargs, occurred_at=ago(hours=3))
    with pytest.raises(DomainError, match="before the blocker was opened"):
        blocker_resolve(**open_kwargs, occurred_at=ago(hours=4))
    blocker_resolve(**open_kwargs, occurred_at=ago(hours=2))
    assert Referral.objects.get(pk=referral.pk).open_blocker_count == 0


def test_it_reopens_a_declined_referral_for_triage(line, clinician, intake, triage):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.DECLINED,
        actor=triage,
        reason=DeclineReason.OUTSIDE_SCOPE,
    )
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=triage)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage)
    row = Referral.objects.get(pk=referral.pk)
    assert row.state == State.ACCEPTED
    assert row.outcome_reason == DeclineReason.OUTSIDE_SCOPE  # the last coded end, kept


def test_it_refuses_milestones_on_an_ended_referral_but_the_report_ones(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(
        referral_id=referral.pk, to_state=State.CANCELLED, actor=intake, reason="patient_declined"
    )
    with pytest.raises(DomainError, match="ended"):
        milestone_record(referral_id=referral.pk, milestone=Milestone.ACKNOWLEDGED, actor=intake)


def test_it_assigns_in_bulk_only_to_people_who_work_on_patients(
    line, clinician, intake, scheduler, liaison
):
    referrals = [factories.referral(line=line, clinician=clinician, actor=intake) for _ in range(3)]
    ids = [r.pk for r in referrals]
    assert referral_assign(referral_ids=ids, assignee=scheduler, actor=intake) == 3
    assert referral_assign(referral_ids=ids, assignee=scheduler, actor=intake) == 0
    assert set(Referral.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {
        scheduler.pk
    }
    with pytest.raises(DomainError, match="work on patients"):
        referral_assign(referral_ids=ids, assignee=liaison, actor=intake)
    with pytest.raises(NotAllowed):
        referral_assign(referral_ids=ids, assignee=scheduler, actor=scheduler)
    assert ReferralEvent.objects.filter(kind=EventKind.ASSIGNED).count() == 3


def test_it_answers_a_report_for_a_missing_referral_as_not_found(care_team):
    from refloop.core.errors import NotFound
    from refloop.loop.services import report_send

    with pytest.raises(NotFound):
        report_send(
            referral_id=999999, incoming=factories.notes_pdf(), channel="fax", actor=care_team
        )


def test_it_redirects_to_another_service_line_as_a_new_referral(line, clinician, intake, triage):
    from refloop.referrals.enums import RedirectReason
    from refloop.referrals.services import referral_redirect

    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    cardiology = factories.service_line("cardiology", "Cardiology")

    old = referral_redirect(
        referral_id=referral.pk,
        reason=RedirectReason.OTHER_SERVICE_LINE,
        actor=triage,
        service_line_id=cardiology.pk,
    )

    assert old.state == State.REDIRECTED
    new = Referral.objects.get(pk=old.redirected_to_id)
    assert (new.state, new.service_line, new.patient_id) == (
        State.RECEIVED,
        cardiology,
        referral.patient_id,
    )
    assert new.events.get(kind=EventKind.RECEIVED).details == {"redirected_from": referral.pk}
    assert [d.original.name for d in new.documents.all()] == [
        d.original.name for d in referral.documents.all()
    ]
    assert new.clocks.filter(kind=TargetKind.TRIAGE, stopped_at__isnull=True).exists()


def test_it_redirects_outside_without_a_new_referral(line, clinician, intake, triage):
    from refloop.referrals.enums import RedirectReason
    from refloop.referrals.services import referral_redirect

    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    old = referral_redirect(
        referral_id=referral.pk, reason=RedirectReason.OTHER_PROVIDER, actor=triage
    )
    assert old.state == State.REDIRECTED and old.redirected_to is None
    assert Referral.objects.count() == 1
