"""The public pages of campaign e-mail: unsubscribe (page and RFC 8058 one-click), open pixel,
click redirect (approved links only)."""

import pytest
from django.core.checks import run_checks
from django.test import Client

from refloop.campaigns.enums import CampaignState, RecipientState
from refloop.campaigns.models import CampaignRecipient, Suppression
from refloop.campaigns.queries import address_suppressed
from refloop.content.queries import content_usable
from tests.campaigns.conftest import draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(liaison, target_list, content):
    """A campaign sent to one address, and another campaign still waiting to send to it."""
    campaign = draft(user=liaison, target_list=target_list, content=content)
    campaign.state = CampaignState.SENT
    campaign.content_version = content_usable(item=content, on=campaign.scheduled_at.date())
    campaign.save()
    recipient = CampaignRecipient.objects.create(
        campaign=campaign, email="dana@maple.example", state=RecipientState.SENT, token="tok-a"
    )
    later = draft(user=liaison, target_list=target_list, content=content)
    later.state = CampaignState.SENDING
    later.save()
    waiting = CampaignRecipient.objects.create(
        campaign=later, email="dana@maple.example", token="tok-b"
    )
    return recipient, waiting


def test_it_asks_before_unsubscribing_on_a_get(sent):
    response = Client().get("/m/u/tok-a/")
    assert response.status_code == 200
    assert b"dana@maple.example" in response.content
    assert b'<form method="post"' in response.content
    assert not Suppression.objects.exists()  # a link scanner's GET changes nothing


def test_it_unsubscribes_at_once_and_for_good_on_the_button(sent):
    recipient, waiting = sent
    client = Client(enforce_csrf_checks=True)  # the button posts without a token too
    response = client.post("/m/u/tok-a/", {"confirm": "1"})
    assert response.status_code == 200 and b"unsubscribed" in response.content
    assert address_suppressed(email="DANA@maple.example")
    waiting.refresh_from_db()  # the other campaign's queued e-mail is stopped now
    assert (waiting.state, waiting.error) == ("suppressed", "Unsubscribed: not sent.")
    # Asking twice changes nothing; the page then says it is done.
    client.post("/m/u/tok-a/", {"confirm": "1"})
    assert Suppression.objects.count() == 1
    assert b"is unsubscribed" in Client().get("/m/u/tok-a/").content


def test_it_honours_the_rfc_8058_one_click_post(sent):
    response = Client(enforce_csrf_checks=True).post(
        "/m/u/tok-a/",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    suppression = Suppression.objects.get()
    source = f"campaign {sent[0].campaign_id}"
    assert (suppression.email, suppression.source) == ("dana@maple.example", source)


def test_it_refuses_an_unknown_token():
    assert Client().get("/m/u/nope/").status_code == 404
    assert Client().post("/m/u/nope/").status_code == 404


def test_it_records_no_open_or_click_without_tracking(sent, settings):
    recipient, _ = sent
    settings.REFLOOP_CAMPAIGN_TRACKING = True  # the practice allows it; the campaign does not
    assert Client().get("/m/o/tok-a.gif").status_code == 404
    response = Client().get("/m/c/tok-a/0/")
    assert response.status_code == 302
    assert response["Location"] == "https://refloop.example.org/refer/orthopedics/"
    recipient.refresh_from_db()
    assert recipient.opened_at is None and recipient.clicked_at is None


def test_it_records_opens_and_clicks_when_both_allow(sent, settings):
    recipient, _ = sent
    settings.REFLOOP_CAMPAIGN_TRACKING = True
    recipient.campaign.tracking_allowed = True
    recipient.campaign.save()
    pixel = Client().get("/m/o/tok-a.gif")
    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    recipient.refresh_from_db()
    assert recipient.opened_at is not None and recipient.clicked_at is None
    assert Client().get("/m/c/tok-a/1/")["Location"].endswith("/refer/orthopedics/#criteria")
    recipient.refresh_from_db()
    assert recipient.clicked_at is not None


def test_it_tracks_nothing_when_the_practice_does_not_allow_it(sent):
    recipient, _ = sent
    recipient.campaign.tracking_allowed = True
    recipient.campaign.save()
    assert Client().get("/m/o/tok-a.gif").status_code == 404


def test_it_redirects_only_to_links_of_the_approved_version(sent):
    assert Client().get("/m/c/tok-a/2/").status_code == 404  # two links only
    assert Client().get("/m/c/tok-a/0/?u=https://evil.example/")["Location"] == (
        "https://refloop.example.org/refer/orthopedics/"
    )


def test_it_refuses_to_start_without_a_postal_address(settings):
    settings.REFLOOP_PRACTICE_POSTAL_ADDRESS = "  "
    assert "campaigns.E001" in [message.id for message in run_checks()]
    settings.REFLOOP_PRACTICE_POSTAL_ADDRESS = "100 River Road"
    assert "campaigns.E001" not in [message.id for message in run_checks()]
