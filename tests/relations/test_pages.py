"""The referrers' pages: target lists, profiles, office staff; liaisons see no patient."""

import datetime as dt

import pytest
from django.urls import reverse

from refloop.analytics.jobs import facts_load
from refloop.core.roles import Role
from refloop.outreach.models import Activity, ActivityAttendee
from refloop.referrals.models import Referral
from refloop.relations.enums import ContactRole
from refloop.relations.models import OfficeContact, TargetList
from refloop.relations.queries import Criteria
from refloop.relations.services import standings_refresh
from tests import factories
from tests.relations import factories as rf
from tests.web.helpers import sign_in

# The signed-in page's own (session read and save, user, groups, permissions, alerts: 11) and the
# list's: the list, the count, the page (and the prospects' practices).
MAX_QUERIES = 15


@pytest.fixture
def patch(db, liaison):
    t = rf.territory(liaison, name="North")
    maple = rf.practice(t, name="Maple")
    people = [rf.clinician(maple) for _ in range(3)]
    quiet = rf.clinician(maple, specialty="Cardiology")
    for n, person in enumerate(people):
        rf.standing(
            person,
            segment=("declining", "steady", "growing")[n],
            score=(5.0, 0.0, 1.5)[n],
            total=(10, 40, 20)[n],
            recent_change=(-0.6, 0.1, None)[n],
            drop_off=n == 0,
        )
    return {"maple": maple, "people": people, "quiet": quiet, "territory": t}


def saved(owner, name="List", shared=False, **criteria):
    return TargetList.objects.create(
        owner=owner, name=name, shared=shared, criteria=Criteria(**criteria).to_json()
    )


def names(response) -> list[str]:
    return [row["name"] for row in response.context["members"]["page"].object_list]


def test_it_shows_a_list_sorted_by_score_total_or_change(
    client, liaison, patch, django_assert_max_num_queries
):
    target = saved(liaison, mine=True)
    sign_in(client, liaison)
    url = reverse("referrers_list", args=[target.pk])
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    people = [str(p) for p in patch["people"]]
    assert names(response) == [people[0], people[2], people[1]]  # 5.0, 1.5, 0
    assert names(client.get(url, {"sort": "total"})) == [people[1], people[2], people[0]]
    # the steepest fall first, no figure last
    assert names(client.get(url, {"sort": "change"})) == [people[0], people[1], people[2]]
    assert b"drop-off" in response.content and b"seg-declining" in response.content


def test_it_keeps_its_query_count_with_many_members(
    client, liaison, patch, django_assert_max_num_queries
):
    for _ in range(60):
        rf.standing(rf.clinician(patch["maple"]), segment="dormant", score=2.0)
    target = saved(liaison, segments=("dormant",))
    sign_in(client, liaison)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("referrers_list", args=[target.pk]), {"page": 2})
    assert len(response.context["members"]["page"].object_list) == 10


def test_it_lists_clinicians_not_yet_referring(
    client, liaison, patch, django_assert_max_num_queries
):
    target = saved(liaison, not_yet_referring=True, mine=True, specialty="Cardiology")
    sign_in(client, liaison)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("referrers_list", args=[target.pk]))
    assert [c for c, _ in response.context["members"]["rows"]] == [patch["quiet"]]
    assert b"Maple" in response.content


def test_it_filters_ad_hoc_and_saves_the_criteria_as_a_shared_list(client, liaison, patch):
    sign_in(client, liaison)
    response = client.get(reverse("referrers"), {"segments": ["declining"], "mine": "on"})
    assert names(response) == [str(patch["people"][0])]
    response = client.post(
        reverse("referrers_list_new"),
        {"name": "Fading", "shared": "on", "segments": ["declining", "dormant"], "mine": "on"},
    )
    created = TargetList.objects.get(name="Fading")
    assert response.url == reverse("referrers_list", args=[created.pk])
    assert Criteria.from_json(created.criteria) == Criteria(
        segments=("declining", "dormant"), mine=True
    )
    other = factories.person(Role.LIAISON)
    sign_in(client, other)
    assert b"Fading" in client.get(reverse("referrers")).content
    assert client.get(reverse("referrers_list", args=[created.pk])).status_code == 200
    assert client.get(reverse("referrers_list_edit", args=[created.pk])).status_code == 403
    response = client.post(reverse("referrers_list_delete", args=[created.pk]))
    assert response.status_code == 403 and TargetList.objects.filter(pk=created.pk).exists()


def test_it_hides_a_private_list_of_someone_else(client, liaison, patch):
    private = saved(factories.person(Role.LIAISON), name="Mine alone")
    sign_in(client, liaison)
    assert client.get(reverse("referrers_list", args=[private.pk])).status_code == 404
    assert b"Mine alone" not in client.get(reverse("referrers")).content


def test_it_explains_criteria_that_do_not_go_together(client, liaison, patch):
    sign_in(client, liaison)
    response = client.post(
        reverse("referrers_list_new"),
        {"name": "Odd", "not_yet_referring": "on", "segments": ["declining"], "min_total": "-1"},
    )
    assert response.status_code == 200
    assert not TargetList.objects.exists()
    assert "leave out segments" in response.content.decode()
    assert "greater than or equal to 0" in response.content.decode()


def test_it_edits_and_deletes_an_own_list(client, liaison, patch):
    target = saved(liaison, name="Old name")
    sign_in(client, liaison)
    client.post(
        reverse("referrers_list_edit", args=[target.pk]), {"name": "New name", "drop_off": "on"}
    )
    target.refresh_from_db()
    assert target.name == "New name" and Criteria.from_json(target.criteria).drop_off
    client.post(reverse("referrers_list_delete", args=[target.pk]))
    assert not TargetList.objects.exists()


def test_it_keeps_the_pages_to_outreach_roles(client, compliance, patch):
    sign_in(client, compliance)
    assert client.get(reverse("referrers")).status_code == 403
    person = patch["people"][0]
    assert client.get(reverse("referrers_clinician", args=[person.pk])).status_code == 403


def test_it_manages_office_staff_from_the_practice_page(client, liaison, patch):
    maple = patch["maple"]
    sign_in(client, liaison)
    url = reverse("referrers_contact_new", args=[maple.pk])
    response = client.post(url, {"name": "Jo", "role": ContactRole.REFERRAL_COORDINATOR,
                                 "email": "Jo@Maple.Example.org"})  # fmt: skip
    assert response.url == reverse("referrers_practice", args=[maple.pk])
    contact = OfficeContact.objects.get()
    assert (contact.name, contact.email) == ("Jo", "jo@maple.example.org")
    bad = client.post(url, {"name": "Al", "role": "boss", "email": "not an address"})
    assert bad.status_code == 400 and OfficeContact.objects.count() == 1
    assert "Enter a valid email address" in bad.content.decode()
    page = client.get(reverse("referrers_practice", args=[maple.pk])).content.decode()
    assert "Jo" in page and "Referral coordinator" in page
    client.post(
        reverse("referrers_contact_edit", args=[maple.pk, contact.pk]),
        {"name": "Jo Smith", "role": ContactRole.PRACTICE_LEADER, "email": "", "phone": "555"},
    )
    contact.refresh_from_db()
    assert (contact.name, contact.role, contact.phone) == ("Jo Smith", "practice_leader", "555")
    client.post(reverse("referrers_contact_delete", args=[maple.pk, contact.pk]))
    assert not OfficeContact.objects.exists()


def test_it_shows_a_referrers_profile_with_no_patient_on_it(client, liaison, line):
    now = dt.datetime.now(dt.UTC)
    maple = rf.practice(rf.territory(liaison, name="South"), name="Maple Profile Practice")
    person = rf.clinician(maple, email="dr@maple.example.org")
    for days in (300, 200, 120, 60, 20):
        factories.referral(line=line, clinician=person, received_at=now - dt.timedelta(days=days))
    facts_load(now=now)
    standings_refresh(now=now)
    Activity.objects.create(
        kind="office_visit", status="done", title="Lunch with the team",
        starts_at=now - dt.timedelta(days=3), liaison=liaison, organization=maple,
    )  # fmt: skip
    visit = Activity.objects.create(
        kind="call", title="Follow-up call", starts_at=now, liaison=liaison
    )
    ActivityAttendee.objects.create(activity=visit, clinician=person)
    sign_in(client, liaison)
    page = client.get(reverse("referrers_clinician", args=[person.pk])).content.decode()
    assert "Follow-up call" in page and "South" in page and "Orthopedics (5)" in page
    assert "<svg" in page
    practice = client.get(reverse("referrers_practice", args=[maple.pk])).content.decode()
    assert "Lunch with the team" in practice and "Follow-up call" in practice
    found = client.get(reverse("referrers"), {"mine": "on"}).content.decode()
    assert str(person) in found
    for referral in Referral.objects.select_related("patient"):
        for text in (referral.patient.last_name, referral.patient.first_name + " "):
            assert text not in page and text not in practice and text not in found


def test_it_keeps_a_list_that_a_campaign_was_sent_to_and_says_why(client, liaison, patch):
    from refloop.campaigns.models import Campaign
    from refloop.content.models import ContentItem

    target = saved(liaison, name="Declining")
    item = ContentItem.objects.create(kind="email", title="Knee clinic")
    Campaign.objects.create(
        name="Knee news",
        target_list=target,
        content_item=item,
        sender_name="Riverside",
        sender_address="outreach@riverside.example",
        created_by=liaison,
    )
    sign_in(client, liaison)
    response = client.post(reverse("referrers_list_delete", args=[target.pk]), follow=True)
    assert response.status_code == 200
    assert "is the audience of a campaign" in response.content.decode()
    assert TargetList.objects.filter(pk=target.pk).exists()
