"""Missing records: asked of the referrer, asked again, escalated once, stopped when in."""

import datetime as dt

import pytest

from refloop.alerts.models import Alert
from refloop.core.errors import DomainError, NotAllowed
from refloop.directory.enums import UpdateChannel
from refloop.loop.jobs import records_asks
from refloop.loop.models import RecordsRequest
from refloop.loop.services import records_request
from refloop.messaging.enums import MessageChannel, Purpose
from refloop.referrals.enums import BlockerKind, ChecklistStatus
from refloop.referrals.services import blocker_open, document_add
from tests import factories
from tests.factories import ago
from tests.loop.conftest import FAX, pdf_text, run_updates, to_referrer


@pytest.fixture
def incomplete(line, fax_referrer, intake):
    line.records_reask_days = 2
    line.records_escalate_days = 4
    line.save()
    return factories.referral(
        line=line, clinician=fax_referrer, actor=intake, complete=False, received_at=ago(hours=1)
    )


def _asks():
    return to_referrer(purpose=Purpose.RECORDS_REQUEST)


def test_it_marks_the_items_opens_the_blocker_and_faxes_one_letter(incomplete, intake):
    request = records_request(referral_id=incomplete.pk, actor=intake)

    item = incomplete.checklist.get()
    assert item.status == ChecklistStatus.REQUESTED
    assert incomplete.blockers.filter(
        kind=BlockerKind.MISSING_RECORDS, resolved_at__isnull=True
    ).exists()
    [ask] = _asks()
    assert (ask.channel, ask.to_address, ask.dedupe_key) == (
        MessageChannel.FAX,
        FAX,
        f"records:{request.pk}:1",
    )
    assert ask.document.title == "Records request"
    letter = pdf_text(ask.document)
    assert "Clinical notes" in letter and incomplete.number in letter
    # The letter is ours: it must not tick off an item the referrer owes us.
    assert incomplete.checklist.get().status == ChecklistStatus.REQUESTED
    assert request.ask_count == 1 and request.next_ask_at > request.asked_at


def test_it_asks_again_after_the_business_days_and_only_then(incomplete, intake):
    request = records_request(referral_id=incomplete.pk, actor=intake)

    assert records_asks(request.next_ask_at - dt.timedelta(minutes=1)) == 0
    assert len(_asks()) == 1
    assert records_asks(request.next_ask_at + dt.timedelta(seconds=1)) == 1
    assert records_asks(request.next_ask_at + dt.timedelta(seconds=2)) == 0

    request.refresh_from_db()
    assert request.ask_count == 2
    assert [m.dedupe_key for m in _asks()] == [
        f"records:{request.pk}:1",
        f"records:{request.pk}:2",
    ]
    # Two business days: an ask on a Friday is repeated on Tuesday, not on Sunday.
    assert request.next_ask_at.weekday() < 5


def test_it_escalates_to_the_managers_once(incomplete, intake, manager):
    request = records_request(referral_id=incomplete.pk, actor=intake)
    later = request.escalate_at + dt.timedelta(seconds=1)

    records_asks(later)
    records_asks(later + dt.timedelta(hours=1))

    # "Managers" are the people who assign referrals (alerts.jobs): intake coordinators too.
    alerts = Alert.objects.filter(kind="records_escalated").order_by("recipient_id")
    assert [a.recipient for a in alerts] == [intake, manager]
    assert incomplete.number in alerts[0].text
    request.refresh_from_db()
    assert request.escalated_at is not None


def test_it_stops_asking_once_the_checklist_is_complete(incomplete, intake):
    request = records_request(referral_id=incomplete.pk, actor=intake)
    document_add(referral_id=incomplete.pk, incoming=factories.notes_pdf(), actor=intake)

    records_asks(request.next_ask_at + dt.timedelta(seconds=1))
    records_asks(request.escalate_at + dt.timedelta(seconds=1))

    request.refresh_from_db()
    assert request.resolved_at is not None
    assert len(_asks()) == 1
    assert not Alert.objects.filter(kind="records_escalated").exists()


def test_it_asks_again_on_the_same_request_when_staff_ask_twice(incomplete, intake):
    records_request(referral_id=incomplete.pk, actor=intake)
    records_request(referral_id=incomplete.pk, actor=intake)

    assert RecordsRequest.objects.get().ask_count == 2
    assert len(_asks()) == 2


def test_it_alerts_the_owner_when_the_referrer_cannot_be_reached(line, intake):
    referral = factories.referral(line=line, actor=intake, complete=False)  # no fax, no address

    records_request(referral_id=referral.pk, actor=intake)

    assert _asks() == []
    alert = Alert.objects.get(kind="referrer_unreachable", recipient=intake)
    assert "no way to reach the referrer" in alert.text
    assert referral.patient.last_name not in alert.text


def test_it_alerts_the_owner_when_the_referrer_has_only_an_email(line, intake):
    clinician = factories.referrer()
    clinician.email = "dana@maple.example"
    clinician.preferred_update_channel = UpdateChannel.PORTAL
    clinician.save()
    referral = factories.referral(line=line, clinician=clinician, actor=intake, complete=False)

    records_request(referral_id=referral.pk, actor=intake)

    assert to_referrer() == []
    assert Alert.objects.filter(kind="referrer_unreachable", recipient=intake).exists()


def test_it_stops_asking_when_the_missing_records_blocker_is_resolved(incomplete, intake):
    request = records_request(referral_id=incomplete.pk, actor=intake)
    document_add(referral_id=incomplete.pk, incoming=factories.notes_pdf(), actor=intake)

    run_updates()

    request.refresh_from_db()
    assert request.resolved_at is not None and request.next_ask_at is None


def test_it_keeps_the_request_open_when_the_blocker_opened_again_first(incomplete, intake):
    request = records_request(referral_id=incomplete.pk, actor=intake)
    document_add(referral_id=incomplete.pk, incoming=factories.notes_pdf(), actor=intake)
    # Records are wanted again before the resolution is handled (late, or a second time).
    blocker_open(referral_id=incomplete.pk, kind=BlockerKind.MISSING_RECORDS, actor=intake)

    run_updates()

    request.refresh_from_db()
    assert request.resolved_at is None


def test_it_refuses_when_nothing_is_missing(referral, intake):
    with pytest.raises(DomainError, match="nothing to ask"):
        records_request(referral_id=referral.pk, actor=intake)


def test_it_refuses_roles_that_do_not_work_the_records(incomplete, care_team):
    with pytest.raises(NotAllowed):
        records_request(referral_id=incomplete.pk, actor=care_team)
