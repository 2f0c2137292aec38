"""Contact attempts: the first success is first contact, failures block, enough of them over
enough business days cancel the referral, and a job reminds the owner to try."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from refloop.access.jobs import contact_attempts_due
from refloop.access.models import ContactAttempt
from refloop.access.services import contact_attempt_record
from refloop.alerts.models import Alert
from refloop.core.errors import DomainError
from refloop.referrals.enums import BlockerKind, CancelReason, EventKind, Milestone, State
from refloop.referrals.services import referral_transition
from tests import factories
from tests.web.helpers import sign_in

TZ = timezone.get_default_timezone()


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


# Monday 2 November 2026: a plain business week follows (Veterans Day is the 11th).
MONDAY = local(2026, 11, 2, 9, 0)


def _accepted(line, triage, at=MONDAY):
    referral = factories.referral(line=line, received_at=at - dt.timedelta(hours=1))
    referral_transition(
        referral_id=referral.pk, to_state=State.TRIAGE, actor=triage, occurred_at=at
    )
    referral_transition(
        referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage, occurred_at=at
    )
    referral.refresh_from_db()
    return referral


def _try(referral, scheduler, at, outcome="no_answer", channel="call"):
    return contact_attempt_record(
        referral_id=referral.pk, channel=channel, outcome=outcome, actor=scheduler, occurred_at=at
    )


def _open_blockers(referral):
    return set(referral.blockers.filter(resolved_at__isnull=True).values_list("kind", flat=True))


def test_it_records_first_contact_once_and_clears_the_not_reached_blocker(line, triage, scheduler):
    referral = _accepted(line, triage)
    _try(referral, scheduler, MONDAY + dt.timedelta(hours=1))
    assert _open_blockers(referral) == {BlockerKind.PATIENT_NOT_REACHED}

    _try(referral, scheduler, MONDAY + dt.timedelta(hours=2), outcome="reached")
    _try(referral, scheduler, MONDAY + dt.timedelta(hours=3), outcome="reached", channel="sms")

    referral.refresh_from_db()
    assert referral.first_contact_at == MONDAY + dt.timedelta(hours=2)
    assert referral.events.filter(code=Milestone.FIRST_CONTACT).count() == 1
    assert _open_blockers(referral) == set()


def test_it_refuses_an_outcome_the_channel_cannot_have(line, triage, scheduler):
    referral = _accepted(line, triage)

    with pytest.raises(DomainError, match="does not fit a letter"):
        _try(referral, scheduler, MONDAY, outcome="reached", channel="letter")

    assert not ContactAttempt.objects.exists()


def test_it_refuses_intake_recording_attempts(line, triage, intake):
    referral = _accepted(line, triage)

    with pytest.raises(DomainError):
        _try(referral, intake, MONDAY)


def test_it_cancels_as_unreachable_only_once_the_business_days_have_passed(line, triage, scheduler):
    referral = _accepted(line, triage)  # limit 3 attempts over 5 business days (defaults)
    for day in range(3):  # Monday, Tuesday, Wednesday
        _try(referral, scheduler, MONDAY + dt.timedelta(days=day, hours=1))
    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED

    _try(referral, scheduler, local(2026, 11, 9, 10, 0))  # the next Monday: 5 business days on

    referral.refresh_from_db()
    assert referral.state == State.CANCELLED
    cancelled = referral.events.get(kind=EventKind.STATE_CHANGED, to_state=State.CANCELLED)
    assert cancelled.code == CancelReason.UNABLE_TO_REACH
    assert cancelled.actor is None
    assert cancelled.occurred_at == local(2026, 11, 9, 10, 0)
    assert cancelled.note == "Not reached after 4 attempts over 5 business days."


def test_it_counts_failures_only_since_the_patient_was_last_reached(line, triage, scheduler):
    referral = _accepted(line, triage)
    _try(referral, scheduler, MONDAY + dt.timedelta(hours=1))
    _try(referral, scheduler, MONDAY + dt.timedelta(days=1), outcome="reached")
    _try(referral, scheduler, MONDAY + dt.timedelta(days=2))
    _try(referral, scheduler, local(2026, 11, 9, 10, 0))

    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED


def test_it_alerts_the_owner_when_nobody_tried_for_a_business_day(line, triage, scheduler):
    referral = _accepted(line, triage)

    contact_attempts_due(local(2026, 11, 2, 16, 0))
    assert not Alert.objects.exists()
    contact_attempts_due(local(2026, 11, 3, 10, 0))
    contact_attempts_due(local(2026, 11, 3, 11, 0))
    assert Alert.objects.get().text == (
        f"{referral.number}: contact attempts due (none since Nov 2 09:00)."
    )

    _try(referral, scheduler, local(2026, 11, 3, 11, 30))
    contact_attempts_due(local(2026, 11, 3, 15, 0))
    contact_attempts_due(local(2026, 11, 4, 12, 0))

    assert Alert.objects.count() == 2
    assert set(Alert.objects.values_list("recipient", flat=True)) == {scheduler.pk}


def test_it_lists_attempts_and_records_one_from_the_page(client, line, triage, scheduler):
    referral = _accepted(line, triage, at=factories.ago(hours=3))
    sign_in(client, scheduler)
    page = reverse("referral_detail", args=[referral.pk])
    html = client.get(page).content.decode()
    version = html.split('name="contact_attempt-version" value="', 1)[1].split('"', 1)[0]

    response = client.post(
        reverse("referral_act", args=[referral.pk, "contact_attempt"]),
        {
            "contact_attempt-version": version,
            "contact_attempt-channel": "call",
            "contact_attempt-outcome": "left_message",
            "contact_attempt-note": "Voicemail, asked to call back",
        },
    )

    assert response.status_code == 302
    html = client.get(page).content.decode()
    assert "Left a message" in html and "Voicemail, asked to call back" in html
    assert "Patient not reached" in html
