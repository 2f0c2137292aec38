"""Status updates to the referrer, read from the referral's events (the outbox)."""

import datetime as dt

import pytest
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.directory.enums import UpdateChannel
from refloop.loop.jobs import LATE_WINDOW, referrer_digests
from refloop.loop.models import EventCursor, FollowUpItem, FollowUpTemplateItem, LoopSettings
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


def test_it_faxes_portal_referrers_whose_office_has_no_portal_account(line, intake):
    clinician = factories.referrer()
    clinician.fax = FAX
    clinician.preferred_update_channel = UpdateChannel.PORTAL
    clinician.save()
    factories.referral(line=line, clinician=clinician, actor=intake)

    run_updates()

    [update] = _updates()
    assert (update.channel, update.to_address) == (MessageChannel.FAX, FAX)
    assert "no referring-office portal account for this office yet: sent by fax instead" in (
        update.body.lower()
    )


def test_it_sends_portal_referrers_without_a_fax_a_direct_message(line, intake):
    clinician = factories.referrer()
    clinician.direct_address = "dana@direct.maple.example"
    clinician.preferred_update_channel = UpdateChannel.PORTAL
    clinician.save()
    factories.referral(line=line, clinician=clinician, actor=intake)

    run_updates()

    [update] = _updates()
    assert (update.channel, update.to_address) == (MessageChannel.DIRECT, clinician.direct_address)
    assert "sent by Direct message instead" in update.body


def test_it_does_not_count_an_email_address_as_a_way_to_reach_the_referrer(line, intake, manager):
    clinician = factories.referrer()
    clinician.email = "dana@maple.example"
    clinician.preferred_update_channel = UpdateChannel.PORTAL
    clinician.save()
    referral = factories.referral(line=line, clinician=clinician, actor=intake, last_name="Quill")
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(
        referral_id=referral.pk, to_state=State.DECLINED, actor=manager, reason="not_indicated"
    )

    run_updates()

    assert to_referrer() == []
    alerts = Alert.objects.filter(kind="referrer_unreachable", recipient=intake)
    texts = sorted(alert.text for alert in alerts)
    assert len(texts) == 2 and all(referral.number in text for text in texts)
    assert "'declined' was not sent" in texts[0] and "'received' was not sent" in texts[1]


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


def test_it_sends_digest_referrers_the_decline_letter_at_once(line, intake, manager):
    clinician = factories.referrer()
    clinician.fax = FAX
    clinician.updates_as_digest = True
    clinician.save()
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.DECLINED,
        actor=manager,
        reason=DeclineReason.NOT_INDICATED,
    )

    run_updates()
    run_updates(seconds=1)

    [letter] = _updates()  # the letter alone: the arrival waits for the digest
    assert (letter.purpose, letter.channel, letter.to_address) == (
        Purpose.DECLINE_LETTER,
        MessageChannel.FAX,
        FAX,
    )
    assert "Not clinically indicated" in pdf_text(letter.document)
    assert referrer_digests(timezone.now() + dt.timedelta(days=1)) == 1
    [digest] = to_referrer(purpose=Purpose.DIGEST)
    assert "declined (not clinically indicated); a letter with other options follows." in (
        digest.body
    )


def _step_cursor_over(event):
    """As if later events had been read while this event's transaction was still open."""
    EventCursor.objects.update(last_event_id=event.pk + 10)


def test_it_handles_once_an_event_that_committed_after_the_cursor_passed_it(referral, manager):
    run_updates()  # the arrival
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=manager)
    accepted = ReferralEvent.objects.latest("id")
    _step_cursor_over(accepted)

    run_updates()
    run_updates(seconds=1)
    run_updates(minutes=5)

    [update] = _updates(dedupe_key=f"status:{accepted.pk}")
    assert "accepted; we will contact the patient" in update.body
    assert len(_updates()) == 2
    assert EventCursor.objects.get().last_event_id == accepted.pk + 10


def test_it_creates_follow_ups_once_for_a_late_visit_event(line, intake, manager):
    FollowUpTemplateItem.objects.create(service_line=line, name="Imaging reviewed")
    clinician = factories.referrer()
    clinician.fax = FAX
    clinician.updates_as_digest = True  # no message marks the event as handled
    clinician.save()
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    run_updates()
    to_completed(referral, manager)
    _step_cursor_over(ReferralEvent.objects.latest("id"))

    run_updates()
    run_updates(seconds=1)

    assert list(FollowUpItem.objects.values_list("referral", "name")) == [
        (referral.pk, "Imaging reviewed")
    ]
    assert _updates() == []


def test_it_leaves_events_older_than_the_late_window_to_the_cursor(referral, manager):
    run_updates()
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=manager)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=manager)
    _step_cursor_over(ReferralEvent.objects.latest("id"))

    run_updates(seconds=LATE_WINDOW.total_seconds() + 1)

    assert len(_updates()) == 1  # the arrival: a commit later than that is not waited for


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
