"""One campaign e-mail as it goes out: personal fields, CAN-SPAM parts, headers."""

from types import SimpleNamespace

from refloop.campaigns.compose import (
    Personal,
    campaign_compose,
    campaign_email,
    fields_unknown,
    links_of,
    personalise,
)
from tests.campaigns.conftest import BODY

PERSON = Personal(first_name="Dana", last_name="Reed", name="Dana Reed", practice="Maple Family")


def _campaign(tracking=False):
    version = SimpleNamespace(subject="New knee clinic hours for {first_name}", body=BODY)
    campaign = SimpleNamespace(
        sender_name="Jo Lee, Riverside Specialty Care",
        sender_address="outreach@riverside.example",
        tracking_allowed=tracking,
        content_version=version,
    )
    return campaign, version


def test_it_names_unknown_fields_once_in_order():
    text = "Hi {first_name} {title} of {clinic} and {title} {}"
    assert fields_unknown(text) == ["title", "clinic", ""]
    assert fields_unknown(BODY) == []


def test_it_fills_personal_fields_and_greets_a_nameless_colleague():
    assert personalise("Dear {first_name} at {practice}", PERSON) == "Dear Dana at Maple Family"
    nameless = Personal(first_name="", last_name="", name="", practice="")
    assert personalise("Dear {first_name},", nameless) == "Dear Colleague,"


def test_it_writes_the_can_spam_parts_into_every_message():
    campaign, version = _campaign()
    composed = campaign_compose(campaign=campaign, version=version, token="tok123", personal=PERSON)
    # The subject is the approved one, word for word (fields filled): no prefix.
    assert composed.subject == "New knee clinic hours for Dana"
    # The advertisement is identified by the body's first line.
    assert composed.text.splitlines()[0] == "Advertisement from Riverside Specialty Care."
    assert "100 River Road, Springfield, ST 00000" in composed.text
    unsubscribe = "https://refloop.example.org/m/u/tok123/"
    assert f"Unsubscribe (at once, for good): {unsubscribe}" in composed.text
    assert composed.headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert composed.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert composed.from_email == '"Jo Lee, Riverside Specialty Care" <outreach@riverside.example>'
    assert "Dear Dr Reed," in composed.text and "at Maple Family now" in composed.text


def test_it_links_directly_and_adds_no_pixel_without_tracking(settings):
    settings.REFLOOP_CAMPAIGN_TRACKING = True  # the practice allows it, this campaign does not
    campaign, version = _campaign(tracking=False)
    html = campaign_compose(campaign=campaign, version=version, token="t", personal=PERSON).html
    assert '<a href="https://refloop.example.org/refer/orthopedics/">' in html
    assert "/m/c/" not in html and "/m/o/" not in html and "<img" not in html


def test_it_tracks_clicks_by_link_position_and_opens_when_both_allow(settings):
    settings.REFLOOP_CAMPAIGN_TRACKING = True
    campaign, version = _campaign(tracking=True)
    html = campaign_compose(campaign=campaign, version=version, token="t", personal=PERSON).html
    assert links_of(BODY) == [
        "https://refloop.example.org/refer/orthopedics/",
        "https://refloop.example.org/refer/orthopedics/#criteria",
    ]
    assert 'href="https://refloop.example.org/m/c/t/0/"' in html
    assert 'href="https://refloop.example.org/m/c/t/1/"' in html
    assert '<img src="https://refloop.example.org/m/o/t.gif"' in html


def test_it_escapes_what_the_body_says_in_html():
    campaign, version = _campaign()
    version.body = "Dr <b>{last_name}</b> & co"
    html = campaign_compose(campaign=campaign, version=version, token="t", personal=PERSON).html
    assert "Dr &lt;b&gt;Reed&lt;/b&gt; &amp; co" in html


def test_it_builds_a_multipart_message_with_the_headers():
    campaign, version = _campaign()
    composed = campaign_compose(campaign=campaign, version=version, token="t9", personal=PERSON)
    message = campaign_email(composed=composed, to="dana@maple.example").message()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == "<refloop-campaign-t9@riverside.example>"
    assert message.get_content_type() == "multipart/alternative"
