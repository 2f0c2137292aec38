"""Status updates to the referrer, read from the referral's events (the outbox)."""

import datetime as dt

import pytest
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.directory.enums import UpdateChannel
from refloop.loop.jobs import referrer_digests
from refloop.loop.models import EventCursor, LoopSettings
from refloop.messaging.enums import MessageChannel, Purpose
from refloop.referrals.enums import CancelReason, DeclineReason, State
from refloop.referrals.models import ReferralEvent
from refloop.referrals.services import referral_transition
from tests import factories
from tests.factories import ago
from tests.loop.conftest import FAX, pdf_text, run_updates, soon, to_completed, to_referrer


def _updates(**filters):
    return to_referrer(purpose__in=[Purpose.STATUS_UPDATE, Purpose.DECLINE_LETTER], **filters)


def test_it_tells_a_fax_referrer_each_milestone_once(referral, manager):
    to_completed(referral, manager)

    run_updates()

    updates = _updates()
    assert {(m.channel, m.to_address) for m in updates} == {(MessageChannel.FAX, FAX)}
    bodies = [m.body for m in updates]
    assert [b.split(": ", 1)[1].split(" ")[0] for b in bodies] == [
        "received;",
        "accepted;",
        "scheduled",
        "the",
    ]
    assert "Quill" in bodies[0]  # a fax may carry the patient's name
    assert "seen on" in bodies[3]
    events = ReferralEvent.objects.filter(referral=referral).values_list("id", flat=True)
    assert {m.dedupe_key for m in updates} <= {f"status:{pk}" for pk in events}
    assert all(m.subject == "Referral update from Riverside Specialty Care" for m in updates)


def test_it_never_sends_twice_when_the_job_runs_twice(referral, manager):
    to_completed(referral, manager)

    first = run_updates()
    second = run_updates(seconds=1)

    assert first > 0 and second == 0
    assert len(_updates()) == 4
    assert EventCursor.objects.get().last_event_id == ReferralEvent.objects.latest("id").pk


def test_it_picks_up_where_it_left_off(referral, manager):
    run_updates()
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=manager)

    run_updates()

    assert len(_updates()) == 2


def test_it_sends_nothing_about_history_older_than_a_week(line, fax_referrer, intake, manager):
    old = factories.referral(
        line=line, clinician=fax_referrer, actor=intake, received_at=ago(days=30)
    )
    referral_transition(referral_id=old.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(referral_id=old.pk, to_state=State.ACCEPTED, actor=manager)

    run_updates()

    # The 30-day-old arrival is history; the acceptance today is news.
    [update] = _updates()
    assert "accepted" in update.body


def test_it_starts_the_cursor_after_events_recorded_over_a_week_ago(referral, manager):
    now = soon(days=8)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)

    from refloop.loop.jobs import referrer_updates

    referrer_updates(now)

    assert _updates() == []
    assert EventCursor.objects.get().last_event_id == ReferralEvent.objects.latest("id").pk


def test_it_uses_the_direct_address(line, intake, manager):
    clinician = factories.referrer()
    clinician.direct_address = "dana@direct.maple.example"
    clinician.preferred_update_channel = UpdateChannel.DIRECT
    clinician.save()
    factories.referral(line=line, clinician=clinician, actor=intake)

    run_updates()

    [update] = _updates()
    assert (update.channel, update.to_address) == (MessageChannel.DIRECT, clinician.direct_address)


def test_it_faxes_ehr_referrers_until_the_interface_exists(line, intake):
    clinician = factories.referrer()
    clinician.fax = FAX
    clinician.preferred_update_channel = UpdateChannel.EHR
    clinician.save()
    factories.referral(line=line, clinician=clinician, actor=intake)

    run_updates()

    [update] = _updates()
    assert update.channel == MessageChannel.FAX
    assert "issue 4" in update.body


def test_it_uses_the_practice_fax_when_the_clinician_has_none(line, intake):
    clinician = factories.referrer()
    organization = clinician.organizations.get()
    organization.fax = "555-010-7999"
    organization.save()
    factories.referral(line=line, clinician=clinician, actor=intake)

    run_updates()

    [update] = _updates()
    assert (update.channel, update.to_address) == (MessageChannel.FAX, "555-010-7999")


def test_it_posts_a_portal_notice_for_portal_referrers(line, intake):
    clinician = factories.referrer()
    clinician.preferred_update_channel = UpdateChannel.PORTAL
    clinician.save()
    factories.referral(line=line, clinician=clinician, actor=intake)

    run_updates()

    [update] = _updates()
    assert update.channel == MessageChannel.PORTAL


def test_it_emails_only_a_link_without_phi(line, intake, manager):
    clinician = factories.referrer()
    clinician.email = "dana@maple.example"
    clinician.save()
    referral = factories.referral(line=line, clinician=clinician, actor=intake, last_name="Quill")
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(
        referral_id=referral.pk, to_state=State.DECLINED, actor=manager, reason="not_indicated"
    )

    run_updates()

    updates = _updates()
    assert len(updates) == 2
    for message in updates:
        assert message.channel == MessageChannel.EMAIL
        assert message.document is None
        text = message.subject + message.body
        assert "Quill" not in text and referral.number not in text and "declined" not in text
        assert "/portal/" in message.body


def test_it_alerts_the_owner_when_the_referrer_has_no_address(line, intake, manager):
    referral = factories.referral(line=line, actor=intake)  # no fax, Direct or e-mail

    run_updates()

    assert _updates() == []
    alert = Alert.objects.get(kind="referrer_unreachable", recipient=intake)
    assert referral.number in alert.text and "received" in alert.text


def test_it_sends_a_decline_letter_with_the_reason_and_other_options(referral, manager, line):
    line.phone = "(555) 010-3300"
    line.save()
    LoopSettings.objects.create(
        service_line=line, decline_alternatives="Try the community physiotherapy service."
    )
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.DECLINED,
        actor=manager,
        reason=DeclineReason.NOT_INDICATED,
    )

    run_updates()

    [letter] = to_referrer(purpose=Purpose.DECLINE_LETTER)
    assert letter.channel == MessageChannel.FAX
    text = pdf_text(letter.document)
    assert "Not clinically indicated" in text
    assert "community physiotherapy" in text
    assert "(555) 010-3300" in text
    assert letter.document.title == "Decline letter"


def test_it_tells_the_cancellation_reason_and_the_no_show(referral, manager):
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=manager)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.SCHEDULED,
        actor=manager,
        appointment_at=ago(minutes=30),
    )
    referral_transition(referral_id=referral.pk, to_state=State.NO_SHOW, actor=manager)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.CANCELLED,
        actor=manager,
        reason=CancelReason.NO_SHOW_LIMIT,
    )

    run_updates()

    bodies = [m.body for m in _updates()]
    assert any("missed the appointment" in b for b in bodies)
    assert "cancelled (no-show limit reached)." in bodies[-1]


def test_it_sends_digest_referrers_one_message_a_day(line, intake, manager):
    clinician = factories.referrer()
    clinician.fax = FAX
    clinician.updates_as_digest = True
    clinician.save()
    first = factories.referral(line=line, clinician=clinician, actor=intake, last_name="Quill")
    second = factories.referral(line=line, clinician=clinician, actor=intake, last_name="Tarn")
    referral_transition(referral_id=first.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(referral_id=first.pk, to_state=State.ACCEPTED, actor=manager)

    run_updates()
    assert _updates() == []  # not one by one

    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert referrer_digests(tomorrow) == 1
    assert referrer_digests(tomorrow + dt.timedelta(minutes=10)) == 0

    [digest] = to_referrer(purpose=Purpose.DIGEST)
    assert digest.channel == MessageChannel.FAX
    assert first.number in digest.body and second.number in digest.body
    assert "(A.Q.): accepted" in digest.body and "(A.T.): received" in digest.body
    assert "Quill" not in digest.body and "Tarn" not in digest.body


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_sends_each_update_once_with_two_schedulers_at_once(line, fax_referrer, manager):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("two connections at once are tested on PostgreSQL")
    from refloop.loop.jobs import referrer_updates

    for _ in range(5):
        referral = factories.referral(line=line, clinician=fax_referrer, actor=manager)
        referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
        referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=manager)
    now = soon()
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait(timeout=10)
            referrer_updates(now)
        except Exception as error:  # the test asserts there were none
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    referrer_updates(soon(seconds=1))

    assert errors == []
    keys = [m.dedupe_key for m in _updates()]
    assert len(keys) == len(set(keys)) == 10
