"""A campaign's state changes: each validates, writes, records an event, notifies."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.campaigns.enums import CampaignState, EventAction, RecipientState
from refloop.campaigns.models import CampaignEvent, Suppression
from refloop.campaigns.services import (
    campaign_cancel,
    campaign_hold_decide,
    campaign_schedule,
    campaign_start,
    campaign_unschedule,
    campaign_update,
)
from refloop.content.enums import ContentState
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.directory.models import ResponseTarget
from refloop.relations.models import TargetList
from tests.analytics.test_turnaround import facts_stored
from tests.campaigns.conftest import draft, email_content, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def members(target_list):
    return [member(target_list, n) for n in (1, 2)]


@pytest.fixture
def campaign(liaison, target_list, content, members):
    return draft(user=liaison, target_list=target_list, content=content)


def actions(campaign) -> list[tuple[str, str, str]]:
    return list(
        CampaignEvent.objects.filter(campaign=campaign)
        .order_by("id")
        .values_list("action", "from_state", "to_state")
    )


def test_it_schedules_a_draft_and_records_who_did_it(campaign, liaison):
    campaign_schedule(campaign=campaign, user=liaison)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SCHEDULED
    event = CampaignEvent.objects.get(campaign=campaign)
    assert (event.action, event.actor, event.details) == ("scheduled", liaison, {"version": 1})


def test_it_refuses_an_unknown_personal_field_naming_it(liaison, target_list, members):
    item = email_content(body="Dear {first_name}, our {clinic_name} is open.")
    campaign = draft(user=liaison, target_list=target_list, content=item)
    with pytest.raises(DomainError, match=r"Unknown personal field \{clinic_name\} in the body"):
        campaign_schedule(campaign=campaign, user=liaison)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT and not CampaignEvent.objects.exists()


def test_it_refuses_content_that_is_not_approved_or_expires_before_the_send_day(
    liaison, target_list, members
):
    item = email_content(expires_in_days=2)
    later = timezone.now() + dt.timedelta(days=3)
    campaign = draft(user=liaison, target_list=target_list, content=item, scheduled_at=later)
    with pytest.raises(DomainError, match="no approved version that is still valid on"):
        campaign_schedule(campaign=campaign, user=liaison)
    item.versions.update(state=ContentState.IN_REVIEW, expires_on=None)
    campaign_update(campaign=campaign, user=liaison, scheduled_at=timezone.now())
    with pytest.raises(DomainError, match="only approved, unexpired content is sent"):
        campaign_schedule(campaign=campaign, user=liaison)


def test_it_refuses_a_dishonest_sender(liaison, target_list, content):
    with pytest.raises(DomainError, match="must name the practice"):
        draft(user=liaison, target_list=target_list, content=content, sender_name="Dr Friend")
    with pytest.raises(DomainError, match="practice's domain"):
        draft(
            user=liaison,
            target_list=target_list,
            content=content,
            sender_address="news@elsewhere.example",
        )


def test_it_refuses_a_past_time_an_empty_list_and_someone_elses_private_list(
    liaison, target_list, content, manager
):
    past = draft(
        user=liaison,
        target_list=target_list,
        content=content,
        scheduled_at=timezone.now() - dt.timedelta(hours=1),
    )
    with pytest.raises(DomainError, match="in the past"):
        campaign_schedule(campaign=past, user=liaison)
    empty = draft(user=liaison, target_list=target_list, content=content)
    with pytest.raises(DomainError, match="Nobody on this target list"):
        campaign_schedule(campaign=empty, user=liaison)
    private = TargetList.objects.create(name="Mine", owner=manager, shared=False)
    with pytest.raises(NotAllowed):
        draft(user=liaison, target_list=private, content=content)


def test_it_refuses_roles_without_outreach(campaign, compliance):
    with pytest.raises(NotAllowed):
        campaign_schedule(campaign=campaign, user=compliance)


def test_it_edits_only_a_draft(campaign, liaison):
    campaign_schedule(campaign=campaign, user=liaison)
    with pytest.raises(Conflict, match="Only a draft"):
        campaign_update(campaign=campaign, user=liaison, name="Changed")
    campaign_unschedule(campaign=campaign, user=liaison)
    campaign_update(campaign=campaign, user=liaison, name="Changed")
    campaign.refresh_from_db()
    assert (campaign.state, campaign.name) == ("draft", "Changed")
    assert [a for a, _, _ in actions(campaign)] == ["scheduled", "unscheduled"]


# Honest access ----------------------------------------------------------------------------------


@pytest.fixture
def slow_line(line):
    facts_stored(line, 20, days=35.0)  # routine appointment target: 30 days
    return line


def test_it_holds_a_campaign_promoting_a_line_over_target_and_tells_managers(
    campaign, liaison, slow_line, manager
):
    campaign_update(campaign=campaign, user=liaison, service_line=slow_line)
    campaign_schedule(campaign=campaign, user=liaison)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.HELD
    assert "Orthopedics: measured days to appointment" in campaign.state_reason
    assert actions(campaign) == [("held", "draft", "held")]
    alert = Alert.objects.get(recipient=manager, kind="campaign_held")
    assert "Knee clinic news" in alert.text
    # Held: the scheduler does not send it, however late it gets.
    later = timezone.now() + dt.timedelta(days=1)
    assert campaign_start(campaign_id=campaign.pk, now=later) == CampaignState.HELD
    assert not campaign.recipients.exists()


def test_it_lets_only_a_manager_decide_with_a_reason(campaign, liaison, slow_line, manager):
    campaign_update(campaign=campaign, user=liaison, service_line=slow_line)
    campaign_schedule(campaign=campaign, user=liaison)
    with pytest.raises(NotAllowed):
        campaign_hold_decide(campaign=campaign, user=liaison, decision="released", reason="ok")
    with pytest.raises(DomainError, match="Say why"):
        campaign_hold_decide(campaign=campaign, user=manager, decision="released", reason=" ")
    campaign_hold_decide(
        campaign=campaign, user=manager, decision="kept", reason="Waits are 35 days"
    )
    campaign.refresh_from_db()
    assert (campaign.state, campaign.hold_decision, campaign.hold_decided_by) == (
        "held",
        "kept",
        manager,
    )
    campaign_hold_decide(
        campaign=campaign, user=manager, decision="released", reason="New surgeon from Monday"
    )
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SCHEDULED
    assert campaign.hold_reason == "New surgeon from Monday"
    assert actions(campaign) == [
        ("held", "draft", "held"),
        ("kept", "held", "held"),
        ("released", "held", "scheduled"),
    ]
    assert Alert.objects.filter(recipient=liaison, text__contains="released by a manager").exists()
    # Released: it goes at its time although the line is still over target.
    assert campaign_start(campaign_id=campaign.pk, now=timezone.now()) == CampaignState.SENDING


def test_it_holds_at_send_time_when_access_went_over_target_meanwhile(
    campaign, liaison, line, manager
):
    facts_stored(line, 20, days=25.0)  # within the 30-day target when scheduled
    campaign_update(campaign=campaign, user=liaison, service_line=line)
    campaign_schedule(campaign=campaign, user=liaison)
    assert campaign.state == CampaignState.SCHEDULED
    ResponseTarget.objects.filter(service_line=line, priority="routine", kind="appointment").update(
        amount=20
    )
    cache.clear()
    assert campaign_start(campaign_id=campaign.pk, now=timezone.now()) == CampaignState.HELD
    assert actions(campaign)[-1] == ("held", "scheduled", "held")
    assert not campaign.recipients.exists()


# Start of sending --------------------------------------------------------------------------------


def test_it_starts_with_the_version_then_valid_and_writes_every_recipient(
    campaign, liaison, members
):
    Suppression.objects.create(email="office2@maple2.example")
    campaign_schedule(campaign=campaign, user=liaison)
    campaign_start(campaign_id=campaign.pk, now=timezone.now())
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENDING
    assert campaign.content_version.number == 1
    rows = dict(campaign.recipients.values_list("email", "state"))
    assert rows == {
        "dr1@maple1.example": "queued",
        "office1@maple1.example": "queued",
        "dr2@maple2.example": "queued",
        "office2@maple2.example": "suppressed",  # counted, never silently dropped
    }
    started = CampaignEvent.objects.get(campaign=campaign, action=EventAction.STARTED)
    assert started.details["recipients"] == 4
    # A second start (another scheduler) changes nothing.
    assert campaign_start(campaign_id=campaign.pk, now=timezone.now()) == CampaignState.SENDING
    assert campaign.recipients.count() == 4


def test_it_stops_with_the_reason_when_the_content_expired_before_sending(
    liaison, target_list, members
):
    item = email_content(expires_in_days=1)
    campaign = draft(user=liaison, target_list=target_list, content=item)
    campaign_schedule(campaign=campaign, user=liaison)
    campaign_start(campaign_id=campaign.pk, now=timezone.now() + dt.timedelta(days=3))
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.CANCELLED
    assert campaign.state_reason.startswith("Not sent: “Knee clinic” has no approved version")
    assert actions(campaign)[-1] == ("stopped", "scheduled", "cancelled")
    assert not campaign.recipients.exists()
    assert Alert.objects.filter(recipient=liaison, text__contains="stopped").exists()


def test_it_cancels_with_the_reason_and_never_from_a_final_state(campaign, liaison):
    campaign_cancel(campaign=campaign, user=liaison, reason="Duplicate")
    campaign.refresh_from_db()
    assert (campaign.state, campaign.state_reason) == ("cancelled", "Cancelled. Duplicate")
    with pytest.raises(Conflict):
        campaign_cancel(campaign=campaign, user=liaison)
    with pytest.raises(Conflict):
        campaign_schedule(campaign=campaign, user=liaison)


def test_it_writes_no_recipient_for_a_cancelled_campaign(campaign, liaison):
    campaign_schedule(campaign=campaign, user=liaison)
    campaign_cancel(campaign=campaign, user=liaison)
    assert campaign_start(campaign_id=campaign.pk, now=timezone.now()) == "cancelled"
    assert not campaign.recipients.filter(state=RecipientState.QUEUED).exists()


def test_it_holds_a_campaign_whose_content_promotes_a_line_over_target(
    liaison, target_list, members, slow_line, manager
):
    """The form's 'service line promoted' left empty: the e-mail's own line still counts."""
    content = email_content(line=slow_line)
    campaign = draft(user=liaison, target_list=target_list, content=content)
    assert campaign.service_line is None
    campaign_schedule(campaign=campaign, user=liaison)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.HELD
    assert "Orthopedics: measured days to appointment" in campaign.state_reason
    later = timezone.now() + dt.timedelta(days=1)
    assert campaign_start(campaign_id=campaign.pk, now=later) == CampaignState.HELD
    assert not campaign.recipients.exists()


def test_it_lets_only_the_author_or_a_manager_change_a_campaign(campaign, liaison, manager):
    """Another liaison may read a campaign on a shared list, not edit, schedule or cancel it."""
    from refloop.core.roles import Role
    from tests import factories

    other = factories.person(Role.LIAISON, username="other-liaison")
    with pytest.raises(NotAllowed):
        campaign_update(campaign=campaign, user=other, name="Mine now")
    with pytest.raises(NotAllowed):
        campaign_schedule(campaign=campaign, user=other)
    with pytest.raises(NotAllowed):
        campaign_cancel(campaign=campaign, user=other, reason="not mine")
    campaign_schedule(campaign=campaign, user=liaison)
    with pytest.raises(NotAllowed):
        campaign_unschedule(campaign=campaign, user=other)
    campaign.refresh_from_db()
    assert (campaign.state, campaign.name) == (CampaignState.SCHEDULED, "Knee clinic news")
    campaign_cancel(campaign=campaign, user=manager, reason="Clinic closed that week")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.CANCELLED
