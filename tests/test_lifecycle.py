import datetime as dt

import pytest
from django.db import DatabaseError, transaction

from refloop.access.services import appointment_book, appointment_record_outcome
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.directory.enums import TargetKind
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
from refloop.referrals.services import milestone_record, referral_transition
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
