"""Target lists' members, campaign audiences and a clinician's liaison (the interfaces other
streams call: campaigns, outreach)."""

import pytest

from refloop.campaigns.models import Suppression
from refloop.core.roles import Role
from refloop.relations.enums import ContactRole
from refloop.relations.models import OfficeContact, TargetList
from refloop.relations.queries import (
    Criteria,
    Recipient,
    liaison_of,
    standings_matching,
    target_list_audience,
    target_list_clinicians,
)
from tests import factories
from tests.relations import factories as rf


@pytest.fixture
def patch(db, liaison):
    """A liaison's territory with two practices; three clinicians, two of them referring."""
    t = rf.territory(liaison, name="North")
    maple, oak = rf.practice(t, name="Maple"), rf.practice(t, name="Oak")
    fading = rf.clinician(maple, email="Fading@Example.org")
    steady = rf.clinician(oak, email="steady@example.org")
    quiet = rf.clinician(oak, email="quiet@example.org")  # no referral in the window
    rf.standing(fading, segment="declining", score=4.0, drop_off=True)
    rf.standing(steady, segment="steady", lines=(("Orthopedics", 9),))
    return {"territory": t, "maple": maple, "oak": oak, "fading": fading, "steady": steady,
            "quiet": quiet}  # fmt: skip


def saved(owner, **criteria) -> TargetList:
    return TargetList.objects.create(
        owner=owner, name="A list", criteria=Criteria(**criteria).to_json()
    )


def test_it_lists_the_clinicians_of_a_segment(patch, liaison):
    declining = saved(liaison, segments=("declining", "dormant"))
    assert list(target_list_clinicians(target_list=declining)) == [patch["fading"]]
    by_line = saved(liaison, lines=("Orthopedics",))
    assert list(target_list_clinicians(target_list=by_line)) == [patch["steady"]]


def test_it_finds_clinicians_not_yet_referring_in_the_territory(patch, liaison):
    elsewhere = rf.practice(rf.territory(factories.person(Role.LIAISON)))
    rf.clinician(elsewhere)  # another liaison's patch
    rf.clinician(patch["oak"], specialty="Cardiology")  # another specialty
    prospects = saved(liaison, not_yet_referring=True, mine=True, specialty="family")
    assert list(target_list_clinicians(target_list=prospects)) == [patch["quiet"]]


def test_it_reads_mine_as_the_viewer_or_else_the_owner(patch, liaison):
    other = factories.person(Role.LIAISON)
    mine = saved(liaison, mine=True)
    assert set(target_list_clinicians(target_list=mine)) == {patch["fading"], patch["steady"]}
    assert list(target_list_clinicians(target_list=mine, viewer=other)) == []


def test_it_sorts_members_by_score_total_or_change(patch):
    criteria = Criteria()
    by_score = [s.clinician for s in standings_matching(criteria=criteria, sort="score")]
    assert by_score == [patch["fading"], patch["steady"]]
    by_total = [s.clinician for s in standings_matching(criteria=criteria, sort="total")]
    assert by_total == [patch["steady"], patch["fading"]]


def test_it_builds_an_audience_of_clinicians_and_office_staff(
    patch, liaison, django_assert_max_num_queries
):
    maple = patch["maple"]
    coordinator = OfficeContact.objects.create(
        organization=maple, name="Jo Coordinator", role=ContactRole.REFERRAL_COORDINATOR,
        email="jo@maple.example.org",
    )  # fmt: skip
    OfficeContact.objects.create(  # the same address as the clinician's: once
        organization=maple, name="Front desk", role=ContactRole.OTHER, email="fading@example.org"
    )
    OfficeContact.objects.create(organization=maple, name="No e-mail", role=ContactRole.OTHER)
    OfficeContact.objects.create(  # unsubscribed
        organization=maple, name="Lee Manager", role=ContactRole.OFFICE_MANAGER,
        email="lee@maple.example.org",
    )  # fmt: skip
    Suppression.objects.create(email="lee@maple.example.org")
    target = saved(liaison, segments=("declining",))
    with django_assert_max_num_queries(5):
        audience = target_list_audience(target_list=target)
    fading = patch["fading"]
    assert audience == [
        Recipient("Fading@Example.org", str(fading), fading.pk, None, maple.pk),
        Recipient("jo@maple.example.org", "Jo Coordinator", None, coordinator.pk, maple.pk),
    ]


def test_it_leaves_out_a_suppressed_clinician(patch, liaison):
    Suppression.objects.create(email="fading@example.org")
    target = saved(liaison, segments=("declining",))
    assert target_list_audience(target_list=target) == []


def test_it_names_the_liaison_of_a_clinicians_practice(patch, liaison):
    assert liaison_of(clinician=patch["fading"]) == liaison
    outside = rf.clinician(rf.practice())
    assert liaison_of(clinician=outside) is None
