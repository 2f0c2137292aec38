"""The demo gives the liaison a patch, office staff, standings and lists to start from."""

import datetime as dt

import pytest

from refloop.demo.loader import demo_load
from refloop.relations.models import (
    OfficeContact,
    PracticeAssignment,
    ReferrerStanding,
    TargetList,
)
from refloop.relations.queries import target_list_audience, target_list_clinicians

NOW = dt.datetime(2026, 6, 11, 19, 30, tzinfo=dt.UTC)


@pytest.fixture
def demo(db):
    return demo_load(scale=0.02, seed=7, now=NOW)


def test_it_loads_territories_standings_and_shared_lists(demo):
    lists = {t.name: t for t in TargetList.objects.select_related("owner")}
    assert set(lists) == {
        "Fading referrers",
        "Drop-off alerts in my territory",
        "Not yet referring in my territory",
    }
    leon = lists["Fading referrers"].owner
    assert leon.username == "liaison" and all(t.shared for t in lists.values())
    assert PracticeAssignment.objects.filter(territory__liaison=leon).exists()
    assert PracticeAssignment.objects.exclude(territory__liaison=leon).exists()
    assert ReferrerStanding.objects.filter(liaison=leon).exists()
    assert ReferrerStanding.objects.filter(clinician__isnull=True).count() == 0
    prospects = target_list_clinicians(target_list=lists["Not yet referring in my territory"])
    # Their ids first: as one statement (the list's query nested in another) PostgreSQL planned
    # it on tables it had no statistics for yet (the test's own transaction) and ran 15 minutes.
    prospect_ids = list(prospects.values_list("pk", flat=True))
    assert prospect_ids
    assert not ReferrerStanding.objects.filter(clinician_id__in=prospect_ids).exists()
    fading = lists["Fading referrers"]
    assert target_list_clinicians(target_list=fading).exists()
    audience = target_list_audience(target_list=fading)
    assert any(r.contact_id for r in audience) and any(r.clinician_id for r in audience)
    assert OfficeContact.objects.exists()
