"""The content pages: the library and its filters, an item's versions and trail, editing with
the claims flags, handing in, the review queue and its decisions, the rules editor."""

import pytest
from django.urls import reverse

from refloop.content.enums import ContentKind, ContentState
from refloop.content.models import ClaimRule, ContentDecision, ContentVersion
from refloop.content.services import content_create, content_transition, version_new
from tests import factories
from tests.content.conftest import in_days
from tests.web.helpers import sign_in

S = ContentState


def _item(user, title, *, kind=ContentKind.BROCHURE, body="Plain words.", line=None):
    return content_create(kind=kind, title=title, body=body, user=user, service_line=line)


def test_it_lists_the_library_with_each_items_state_within_a_query_budget(
    client, liaison, compliance, line, django_assert_max_num_queries
):
    for n in range(12):
        version = _item(liaison, f"Brochure {n:02d}", line=line)
        if n % 3 == 0:
            content_transition(version=version, to=S.IN_REVIEW, user=liaison)
    sign_in(client, liaison)

    # Signing in, permissions, the alert badge and the session cost about ten; rows cost none.
    with django_assert_max_num_queries(14):
        response = client.get(reverse("content_library"))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('href="/content/') >= 12
    assert html.count(">In review</span>") == 4


def test_it_filters_the_library_and_shows_expired_approvals(client, approved, liaison, line):
    _item(liaison, "Loose brochure")
    ContentVersion.objects.filter(pk=approved.pk).update(expires_on=in_days(-2))
    sign_in(client, liaison)

    html = client.get(reverse("content_library"), {"state": "expired"}).content.decode()
    assert "Knee clinic sheet" in html and "Loose brochure" not in html
    assert ">Expired</span>" in html

    html = client.get(reverse("content_library"), {"kind": "brochure", "line": ""}).content.decode()
    assert "Loose brochure" in html and "Knee clinic sheet" not in html

    response = client.get(reverse("content_library"), {"state": "nonsense", "line": "abc"})
    assert response.status_code == 200  # a bad filter shows everything, with the form's error
    assert "Select a valid choice" in response.content.decode()


def test_it_keeps_the_library_to_authors_and_reviewers(client, intake, compliance):
    sign_in(client, intake)
    assert client.get(reverse("content_library")).status_code == 403
    sign_in(client, compliance)
    assert client.get(reverse("content_library")).status_code == 200


def test_it_creates_a_draft_and_shows_its_flags_on_the_edit_page(client, liaison):
    sign_in(client, liaison)

    response = client.post(
        reverse("content_new"),
        {"kind": "brochure", "title": "Hip care", "body": "We guarantee the best hip care."},
    )

    version = ContentVersion.objects.get(item__title="Hip care")
    assert response.status_code == 302
    assert response["Location"] == reverse("content_version_edit", args=[version.pk])
    html = client.get(response["Location"]).content.decode()
    assert "2 claim flags" in html
    assert "We <mark>guarantee</mark> the <mark>best</mark> hip care." in html


def test_it_keeps_a_bad_new_item_as_typed_with_the_reason(client, liaison):
    sign_in(client, liaison)

    response = client.post(
        reverse("content_new"),
        {"kind": "email", "title": "Hello", "subject": "Hi", "body": "Dear {fist_name},"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "unknown field(s) {fist_name}" in html
    assert "Dear {fist_name}," in html  # kept for correction
    assert not ContentVersion.objects.exists()


def test_it_saves_an_edit_and_refuses_one_after_hand_in(client, draft, liaison):
    sign_in(client, liaison)
    url = reverse("content_version_edit", args=[draft.pk])

    assert client.post(url, {"body": "New words."}).status_code == 302
    draft.refresh_from_db()
    assert draft.body == "New words."

    content_transition(version=draft, to=S.IN_REVIEW, user=liaison)
    response = client.post(url, {"body": "Sneaky change."})
    assert response.status_code == 409
    assert "start a new version" in response.content.decode()
    draft.refresh_from_db()
    assert draft.body == "New words."


def test_it_checks_claims_as_the_author_types(client, liaison):
    sign_in(client, liaison)

    html = client.post(
        reverse("content_claims_live"), {"subject": "", "body": "No waiting list here."}
    ).content.decode()

    assert "1 claim flag" in html and "No waiting list" in html and "as typed" in html


def test_it_hands_in_and_a_reviewer_approves_from_the_pages(client, draft, liaison, compliance):
    sign_in(client, liaison)
    do = reverse("content_version_do", args=[draft.pk])
    assert client.post(do, {"to": "in_review", "comment": "Please look."}).status_code == 302

    sign_in(client, compliance)
    queue = client.get(reverse("content_review")).content.decode()
    assert "Knee clinic sheet v1" in queue
    page = client.get(reverse("content_version", args=[draft.pk])).content.decode()
    assert 'value="approved"' in page and 'value="changes_requested"' in page

    response = client.post(do, {"to": "approved", "comment": "Fine."})
    assert response.status_code == 400
    assert "An approval needs an expiry date." in response.content.decode()

    response = client.post(
        do, {"to": "approved", "comment": "Fine.", "expires_on": in_days(200).isoformat()}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.state, draft.expires_on) == (S.APPROVED, in_days(200))
    item_page = client.get(reverse("content_item", args=[draft.item_id])).content.decode()
    assert "Usable now: version 1" in item_page
    assert "Please look." in item_page and "Fine." in item_page


def test_it_shows_no_decision_to_the_author_and_refuses_one_forced(client, draft, liaison):
    content_transition(version=draft, to=S.IN_REVIEW, user=liaison)
    sign_in(client, liaison)

    page = client.get(reverse("content_version", args=[draft.pk])).content.decode()
    assert 'value="approved"' not in page
    response = client.post(
        reverse("content_version_do", args=[draft.pk]),
        {"to": "approved", "expires_on": in_days(10).isoformat()},
    )
    assert response.status_code == 403
    assert not ContentDecision.objects.filter(to_state=S.APPROVED).exists()


def test_it_shows_every_version_and_the_trail_within_a_query_budget(
    client, approved, liaison, compliance, django_assert_max_num_queries
):
    for _ in range(3):
        version = version_new(item=approved.item, user=liaison)
        content_transition(version=version, to=S.IN_REVIEW, user=liaison)
        content_transition(
            version=version, to=S.CHANGES_REQUESTED, user=compliance, comment="Again."
        )
        content_transition(version=version, to=S.RETIRED, user=liaison)
    sign_in(client, compliance)

    with django_assert_max_num_queries(15):
        html = client.get(reverse("content_item", args=[approved.item_id])).content.decode()

    for n in range(1, 5):
        assert f">v{n}</a>" in html
    assert html.count("Again.") == 3


def test_it_lists_the_review_queue_with_flags_within_a_query_budget(
    client, liaison, compliance, django_assert_max_num_queries
):
    for n in range(10):
        version = _item(liaison, f"Sheet {n}", body="Voted #1." if n % 2 else "Plain.")
        content_transition(version=version, to=S.IN_REVIEW, user=liaison)
    sign_in(client, compliance)

    with django_assert_max_num_queries(14):
        response = client.get(reverse("content_review"))

    html = response.content.decode()
    assert html.count("Unqualified superlative") == 5


def test_it_renders_a_preview_without_any_authors_html(client, liaison):
    version = _item(liaison, "Sneaky", body='<img src=x onerror="alert(1)"> **bold**')
    sign_in(client, liaison)

    html = client.get(reverse("content_version", args=[version.pk])).content.decode()

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <strong>bold</strong>" in html


def test_it_lets_a_reviewer_add_a_rule_and_explains_a_bad_pattern(client, compliance):
    sign_in(client, compliance)

    response = client.post(
        reverse("content_rule_new"),
        {"name": "Miracle", "category": "guarantee", "pattern": "miracle(", "explanation": "x"},
    )
    assert response.status_code == 400
    assert "not a valid regular expression" in response.content.decode()

    response = client.post(
        reverse("content_rule_new"),
        {
            "name": "Miracle",
            "category": "guarantee",
            "pattern": "miracles?",
            "explanation": "No miracles.",
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert ClaimRule.objects.get(name="Miracle").updated_by == compliance

    html = client.post(reverse("content_rules"), {"text": "A miracle cure."}).content.decode()
    assert "<mark>miracle</mark>" in html and "<mark>cure</mark>" in html


def test_it_keeps_the_rules_to_compliance(client, liaison):
    sign_in(client, liaison)
    assert client.get(reverse("content_rules")).status_code == 403
    assert client.get(reverse("content_review")).status_code == 403


def test_it_shows_a_liaison_no_patient_anywhere_in_content(client, liaison, line, intake):
    factories.referral(line=line, actor=intake, last_name="Quillfeather")
    version = _item(liaison, "Clinic sheet", line=line)
    content_transition(version=version, to=S.IN_REVIEW, user=liaison)
    sign_in(client, liaison)

    pages = [
        reverse("content_library"),
        reverse("content_item", args=[version.item_id]),
        reverse("content_version", args=[version.pk]),
        reverse("content_version_edit", args=[version.pk]),
        reverse("content_new"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Quillfeather" not in response.content.decode(), url


@pytest.mark.parametrize("user_fixture", ["liaison", "compliance", "manager"])
def test_it_shows_the_content_line_in_the_top_bar(client, request, user_fixture):
    sign_in(client, request.getfixturevalue(user_fixture))

    html = client.get(reverse("content_library")).content.decode()

    assert f'<a href="{reverse("content_library")}" class="current">Content</a>' in html
