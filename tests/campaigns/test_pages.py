"""The campaign pages: list (query guard), draft form, preview, schedule, results, the managers'
held queue. Liaisons see referrers and their offices only, never a patient."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from refloop.campaigns.enums import CampaignState
from refloop.campaigns.models import Campaign, CampaignRecipient
from refloop.campaigns.sending import campaign_send
from refloop.campaigns.services import campaign_schedule, campaign_start
from tests import factories
from tests.analytics.test_turnaround import facts_stored
from tests.campaigns.conftest import draft, member
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def members(target_list):
    return [member(target_list, n) for n in (1, 2)]


def test_it_lists_campaigns_in_a_fixed_number_of_queries(
    client, liaison, target_list, content, django_assert_max_num_queries
):
    for n in range(12):
        draft(user=liaison, target_list=target_list, content=content, name=f"Campaign {n}")
    sign_in(client, liaison)
    # Sign-in, permissions, the alerts badge and the session take 11; the list itself one.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("campaigns"))
    assert response.status_code == 200
    assert response.content.count(b"Campaign ") >= 12
    assert b">Campaigns</a>" in response.content  # the nav line


def test_it_keeps_roles_without_outreach_out(client, compliance, intake):
    for user in (compliance, intake):
        sign_in(client, user)
        assert client.get(reverse("campaigns")).status_code == 403
        assert b">Campaigns</a>" not in client.get(reverse("alerts")).content


def test_it_saves_a_draft_from_the_form_and_says_what_is_wrong(
    client, liaison, target_list, content, members
):
    sign_in(client, liaison)
    send_at = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "name": "Knee clinic news",
        "target_list": target_list.pk,
        "content_item": content.pk,
        "sender_name": "Someone",
        "sender_address": "outreach@riverside.example",
        "scheduled_at": send_at,
    }
    response = client.post(reverse("campaign_new"), form)
    assert response.status_code == 400 and b"must name the practice" in response.content
    form["sender_name"] = "Jo Lee, Riverside Specialty Care"
    response = client.post(reverse("campaign_new"), form)
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("campaign_detail", args=[campaign.pk])
    assert (campaign.state, campaign.created_by) == ("draft", liaison)
    response = client.post(reverse("campaign_edit", args=[campaign.pk]), form | {"name": "Knees"})
    campaign.refresh_from_db()
    assert campaign.name == "Knees"


def test_it_previews_the_message_for_one_recipient(client, liaison, target_list, content, members):
    campaign = draft(user=liaison, target_list=target_list, content=content)
    sign_in(client, liaison)
    page = client.get(reverse("campaign_preview", args=[campaign.pk]) + "?r=1").content.decode()
    assert "Subject:</strong> New knee clinic hours" in page
    assert "Advertisement from Riverside Specialty Care." in page
    assert "100 River Road, Springfield, ST 00000" in page
    assert "2 of 4 on the list" in page
    assert "List-Unsubscribe:</strong> &lt;https://refloop.example.org/m/u/preview/&gt;" in page


def test_it_previews_the_reason_when_no_approved_version_can_go(
    client, liaison, target_list, content, members
):
    content.versions.update(expires_on=timezone.localdate() - dt.timedelta(days=1))
    campaign = draft(user=liaison, target_list=target_list, content=content)
    sign_in(client, liaison)
    response = client.get(reverse("campaign_preview", args=[campaign.pk]))
    assert response.status_code == 400
    assert b"no approved version that is still valid" in response.content


def test_it_schedules_from_the_page_and_shows_results_without_opens_when_untracked(
    client, liaison, target_list, content, members
):
    campaign = draft(user=liaison, target_list=target_list, content=content)
    sign_in(client, liaison)
    client.post(reverse("campaign_schedule", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SCHEDULED
    campaign_start(campaign_id=campaign.pk, now=timezone.now())
    campaign_send(campaign_id=campaign.pk)
    page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "<tr><th>Sent</th><td>4</td></tr>" in page
    assert "Opened" not in page and "Opens and clicks are not recorded" in page
    assert "Sending finished" in page  # the audit trail


def test_it_shows_opens_and_clicks_when_tracked(
    client, liaison, target_list, content, members, settings
):
    settings.REFLOOP_CAMPAIGN_TRACKING = True
    campaign = draft(user=liaison, target_list=target_list, content=content, tracking_allowed=True)
    campaign_schedule(campaign=campaign, user=liaison)
    campaign_start(campaign_id=campaign.pk, now=timezone.now())
    campaign_send(campaign_id=campaign.pk)
    token = CampaignRecipient.objects.first().token
    client.get(f"/m/c/{token}/0/")
    sign_in(client, liaison)
    page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "<tr><th>Opened</th><td>1</td></tr>" in page
    assert "<tr><th>Clicked</th><td>1</td></tr>" in page


def test_it_lets_a_manager_release_a_held_campaign_from_the_queue(
    client, liaison, manager, target_list, content, members, line
):
    facts_stored(line, 20, days=35.0)
    campaign = draft(user=liaison, target_list=target_list, content=content, service_line=line)
    campaign_schedule(campaign=campaign, user=liaison)
    sign_in(client, liaison)
    assert client.get(reverse("campaigns_held")).status_code == 403
    response = client.post(
        reverse("campaign_hold_decide", args=[campaign.pk]),
        {"decision": "released", "reason": "x"},
    )
    assert response.status_code == 403
    sign_in(client, manager)
    page = client.get(reverse("campaigns_held")).content.decode()
    assert "Knee clinic news" in page and "exceed the" in page
    response = client.post(
        reverse("campaign_hold_decide", args=[campaign.pk]),
        {"decision": "released", "reason": "Extra clinic on Saturdays"},
    )
    assert response["Location"] == reverse("campaigns_held")
    campaign.refresh_from_db()
    assert (campaign.state, campaign.hold_reason) == ("scheduled", "Extra clinic on Saturdays")
    detail = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "Released: send it by manager" in detail


def test_it_shows_a_liaison_no_patient(client, liaison, target_list, content, members, line):
    # Referrals from the list's referrers, with a patient name that must appear nowhere.
    factories.referral(line=line, clinician=members[0], last_name="Quillfeather")
    campaign = draft(user=liaison, target_list=target_list, content=content)
    campaign_schedule(campaign=campaign, user=liaison)
    campaign_start(campaign_id=campaign.pk, now=timezone.now())
    campaign_send(campaign_id=campaign.pk)
    sign_in(client, liaison)
    for url in (
        reverse("campaigns"),
        reverse("campaign_detail", args=[campaign.pk]),
        reverse("campaign_preview", args=[campaign.pk]),
        reverse("campaign_edit", args=[campaign.pk]),
    ):
        response = client.get(url, follow=True)
        assert response.status_code == 200
        assert b"Quillfeather" not in response.content and b"Alex" not in response.content


def test_it_shows_admins_campaigns_and_the_suppression_list_read_only(
    client, admin_user, liaison, target_list, content
):
    from refloop.campaigns.services import suppression_add

    campaign = draft(user=liaison, target_list=target_list, content=content)
    suppression_add(email="gone@maple.example", source="campaign 1")
    sign_in(client, admin_user)
    page = client.get(reverse("admin:campaigns_suppression_changelist"))
    assert page.status_code == 200 and b"gone@maple.example" in page.content
    assert client.get(reverse("admin:campaigns_suppression_add")).status_code == 403
    change = client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert change.status_code == 200 and b"Knee clinic news" in change.content


def test_it_hides_the_preview_of_a_campaign_on_someone_elses_private_list(client, liaison, content):
    from refloop.core.roles import Role
    from refloop.relations.models import TargetList

    private = TargetList.objects.create(
        name="My declining", owner=liaison, shared=False, criteria={"segments": ["declining"]}
    )
    member(private, 7)
    campaign = draft(user=liaison, target_list=private, content=content)
    other = factories.person(Role.LIAISON, username="other-liaison")
    sign_in(client, other)
    response = client.get(reverse("campaign_preview", args=[campaign.pk]))
    assert response.status_code == 404
    assert b"Dana7" not in response.content
    response = client.post(reverse("campaign_cancel", args=[campaign.pk]), {"reason": "x"})
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT
    sign_in(client, liaison)
    assert b"Dana7" in client.get(reverse("campaign_preview", args=[campaign.pk])).content
