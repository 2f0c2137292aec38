"""Each role against each page: allowed or forbidden as designed, and no patient data for roles
that must not see it."""

import pytest
from django.urls import reverse

from tests.web.helpers import sign_in

PERSONAS = [
    "intake",
    "triage",
    "scheduler",
    "care_team",
    "manager",
    "liaison",
    "compliance",
    "admin_user",
]
PHI_ROLES = {"intake", "triage", "scheduler", "care_team", "manager", "admin_user"}

# page -> the personas that may open it
ALLOWED = {
    "worklist": PHI_ROLES,
    "search": PHI_ROLES,
    "referral_detail": PHI_ROLES,
    "document_view": PHI_ROLES,
    "document_original": PHI_ROLES,
    "referral_new": {"intake", "manager", "admin_user"},
    "access_log": {"manager", "admin_user"},
    "program_overview": {"manager", "admin_user", "liaison", "compliance"},
}
# "/" (the worklist) sends people whose work is aggregates to their own first page.
REDIRECTED = {("worklist", "liaison"), ("worklist", "compliance")}


def _url(page, referral):
    if page == "referral_detail":
        return reverse(page, args=[referral.pk])
    if page.startswith("document_"):
        return reverse(page, args=[referral.documents.first().pk])
    return reverse(page)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", sorted(ALLOWED))
def test_it_lets_each_role_open_only_its_pages(request, client, referral, persona, page):
    user = request.getfixturevalue(persona)
    sign_in(client, user)

    response = client.get(_url(page, referral))

    expected = 200 if persona in ALLOWED[page] else 403
    expected = 302 if (page, persona) in REDIRECTED else expected
    assert response.status_code == expected
    if persona not in PHI_ROLES:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"Quill" not in body
        assert b"1970-01-01" not in body


@pytest.mark.parametrize("page", sorted(ALLOWED))
def test_it_sends_an_anonymous_visitor_to_the_login_page(client, referral, page):
    response = client.get(_url(page, referral))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_the_patient_to_a_role_that_works_on_patients(client, referral, triage):
    sign_in(client, triage)

    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()

    assert "Quill, Alex" in page
    assert "1970-01-01" in page


def test_it_gives_liaison_the_program_counts_and_no_referral_list(client, referral, liaison):
    sign_in(client, liaison)

    page = client.get(reverse("program_overview")).content.decode()

    assert "Orthopedics" in page
    assert referral.number not in page
    assert "Worklist" not in page  # no link to pages the role cannot use
