import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from refloop.campaigns.models import Suppression
from refloop.core.errors import DomainError, Gone
from refloop.outreach.enums import ActivityKind, InvitationStatus
from refloop.outreach.jobs import invitations_send
from refloop.outreach.models import Invitation
from refloop.outreach.services import (
    ActivityDraft,
    LogEntry,
    activity_cancel,
    activity_log,
    activity_plan,
)
from refloop.outreach.services.events import (
    event_invite,
    invitation_send,
    invitation_unsubscribe,
    registration_add,
)
from refloop.outreach.services.notices import cancel_notice_send
from refloop.relations.models import OfficeContact, TargetList
from tests import factories
from tests.outreach.helpers import standing

pytestmark = pytest.mark.django_db


def _event(liaison, **changes):
    fields = {
        "kind": ActivityKind.LUNCH_AND_LEARN,
        "title": "Knee pain: what to send and when",
        "starts_at": timezone.now() + dt.timedelta(days=10),
        "place": "Maple Family Practice, conference room",
        "capacity": 2,
        "topics": "Knee pathway",
    }
    fields.update(changes)
    return activity_plan(liaison=liaison, draft=ActivityDraft(**fields), by=liaison)


@pytest.fixture
def target_list(liaison):
    dana, sam = factories.referrer(), factories.referrer()
    dana.email, sam.email = "Dana@Maple.test", "sam@oak.test"
    dana.save(), sam.save()
    for clinician in (dana, sam):
        standing(clinician=clinician, liaison=liaison, drop_off=False)
    OfficeContact.objects.create(
        organization=dana.organizations.first(),
        name="Pat Lee",
        role="referral_coordinator",
        email="pat@maple.test",
    )
    Suppression.objects.create(email="sam@oak.test")
    return TargetList.objects.create(name="Knee referrers", owner=liaison, criteria={})


def test_it_invites_a_list_once_leaving_out_the_unsubscribed(
    liaison, target_list, django_capture_on_commit_callbacks
):
    event = _event(liaison)
    with django_capture_on_commit_callbacks(execute=True):
        result = event_invite(activity=event, target_list=target_list, by=liaison)
    assert (result.queued, result.already) == (2, 0)
    assert sorted(event.invitations.values_list("email", flat=True)) == [
        "dana@maple.test",
        "pat@maple.test",
    ]
    again = event_invite(activity=event, target_list=target_list, by=liaison)
    assert (again.queued, again.already) == (0, 2)
    notes = list(event.changes.values_list("note", flat=True))
    assert notes[-2:] == [
        "invited 2 from the list Knee referrers",
        "invited 0 from the list Knee referrers",
    ]


def test_it_sends_an_invitation_once_as_an_advertisement(liaison, target_list, settings):
    event = _event(liaison)
    event_invite(activity=event, target_list=target_list, by=liaison)
    invitation = event.invitations.get(email="dana@maple.test")
    assert invitation_send(invitation_id=invitation.pk) == InvitationStatus.SENT
    assert invitation_send(invitation_id=invitation.pk) == InvitationStatus.SENT
    [email] = mail.outbox
    assert email.to == ["dana@maple.test"]
    assert email.subject == "Invitation: Knee pain: what to send and when"
    practice = settings.REFLOOP_PRACTICE_NAME
    assert email.from_email == f"{practice} <{settings.DEFAULT_FROM_EMAIL}>"
    assert email.body.startswith(f"Advertisement from {settings.REFLOOP_PRACTICE_NAME}.")
    assert settings.REFLOOP_PRACTICE_POSTAL_ADDRESS in email.body
    assert f"/e/u/{invitation.token}/" in email.body
    assert f"/e/i/{invitation.token}/" in email.body
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_it_honours_an_unsubscribe_made_after_the_invitation_was_queued(liaison, target_list):
    event = _event(liaison)
    event_invite(activity=event, target_list=target_list, by=liaison)
    invitation = event.invitations.get(email="pat@maple.test")
    invitation_unsubscribe(invitation=invitation)
    assert invitation_send(invitation_id=invitation.pk) == InvitationStatus.SUPPRESSED
    assert mail.outbox == []


def test_it_picks_up_invitations_whose_task_was_lost(liaison, target_list):
    event = _event(liaison)
    event_invite(activity=event, target_list=target_list, by=liaison)
    assert invitations_send(timezone.now()) == 0  # their tasks may still run
    assert invitations_send(timezone.now() + dt.timedelta(minutes=3)) == 2
    assert len(mail.outbox) == 2
    assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}


def test_it_registers_once_up_to_the_capacity(liaison):
    event = _event(liaison)
    first, created = registration_add(activity=event, name="Dana", email="Dana@Maple.test")
    assert created
    same, created = registration_add(activity=event, name="Dana R", email="dana@maple.test")
    assert (same, created) == (first, False)
    registration_add(activity=event, name="Pat", email="pat@maple.test")
    with pytest.raises(Gone, match="full"):
        registration_add(activity=event, name="Lee", email="lee@maple.test")


def test_it_records_attendance_and_makes_known_clinicians_touches(liaison, target_list):
    event = _event(liaison, starts_at=timezone.now() + dt.timedelta(hours=1))
    event_invite(activity=event, target_list=target_list, by=liaison)
    dana = event.invitations.get(email="dana@maple.test")
    came, _ = registration_add(activity=event, name="Dana", email=dana.email, invitation=dana)
    missed, _ = registration_add(activity=event, name="Pat", email="pat@maple.test")
    activity_log(activity=event, entry=LogEntry(registrations_attended=[came.pk]), by=liaison)
    came.refresh_from_db(), missed.refresh_from_db()
    assert (came.attended, missed.attended) == (True, False)
    assert list(event.attendees.values_list("clinician_id", "attended")) == [
        (dana.clinician_id, True)
    ]


def test_it_refuses_registration_for_a_cancelled_event(liaison):
    event = _event(liaison)
    activity_cancel(activity=event, reason="Room not available", by=liaison)
    with pytest.raises(DomainError, match="no longer open"):
        registration_add(activity=event, name="Dana", email="d@maple.test")


def test_it_tells_registrants_once_when_an_event_is_cancelled(
    liaison, django_capture_on_commit_callbacks
):
    event = _event(liaison)
    registration, _ = registration_add(activity=event, name="Pat Lee", email="pat@maple.test")
    Suppression.objects.create(email="pat@maple.test")  # unsubscribed from campaigns only
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        activity_cancel(activity=event, reason="Room not available", by=liaison)
    assert len(callbacks) == 1  # the notices' tasks, queued on commit
    assert cancel_notice_send(registration_id=registration.pk) is True
    assert cancel_notice_send(registration_id=registration.pk) is False
    [email] = mail.outbox
    assert email.to == ["pat@maple.test"]
    assert email.subject == "Cancelled: Knee pain: what to send and when"
    assert "is cancelled" in email.body


def test_it_never_sends_twice_an_invitation_a_dead_sender_held(liaison, target_list):
    """A worker claimed it (queued -> sending) and died: it may have gone out, so it is marked
    failed with the reason, not sent again."""
    event = _event(liaison)
    event_invite(activity=event, target_list=target_list, by=liaison)
    held = Invitation.objects.order_by("pk").first()
    Invitation.objects.filter(pk=held.pk).update(
        status=InvitationStatus.SENDING, lease_until=timezone.now() - dt.timedelta(minutes=1)
    )
    invitations_send(timezone.now() + dt.timedelta(minutes=3))
    held.refresh_from_db()
    assert held.status == InvitationStatus.FAILED
    assert "not sent again" in held.status_reason
    assert [m.to for m in mail.outbox].count([held.email]) == 0
