"""standings_refresh: the referrers' report from analytics, stored per referrer with who looks
after them; inserted, updated, and deleted when a referrer leaves the window."""

import datetime as dt

import pytest

from refloop.analytics.jobs import facts_load
from refloop.relations.jobs import standings_daily
from refloop.relations.models import ReferrerStanding, StandingLine
from refloop.relations.services import standings_refresh, standings_write
from tests import factories
from tests.analytics.factories import facts
from tests.analytics.test_referrers import DECEMBER, OLD, monthly
from tests.relations import factories as rf

NOW = dt.datetime(2026, 1, 1, 5, tzinfo=dt.UTC)


@pytest.fixture
def north(db, liaison):
    t = rf.territory(liaison, name="North")
    return {"territory": t, "maple": rf.practice(t, name="Maple Family Practice")}


def test_it_stores_each_referrer_with_their_clinician_practice_and_liaison(north, liaison):
    with_npi = rf.clinician(north["maple"])
    without = rf.clinician(north["maple"], npi=False, specialty="Internal medicine")
    rows = facts(
        OLD,
        *monthly(with_npi.npi, [3] * 10 + [0, 0], practice="Maple Family Practice"),
        *monthly(str(without.pk), [1] * 12, service_line="Orthopedics"),
        *monthly("stranger", [2] * 12),  # a key no clinician has
    )
    # 24 months: Dr Old's referral of June 2024 is in the window too
    assert standings_write(facts=rows, scope=DECEMBER, now=NOW) == 4
    fading = ReferrerStanding.objects.get(key=with_npi.npi)
    assert (fading.clinician, fading.organization, fading.territory, fading.liaison) == (
        with_npi, north["maple"], north["territory"], liaison,
    )  # fmt: skip
    assert fading.total == 30 and fading.drop_off
    assert fading.drop_off_detail["recent_count"] == 0
    assert fading.monthly[-3:] == [["2025-10-01", 3], ["2025-11-01", 0], ["2025-12-01", 0]]
    assert fading.score == pytest.approx(30 / 304 * 30.44, abs=1e-5)
    other = ReferrerStanding.objects.get(key=str(without.pk))
    assert (other.clinician, other.specialty) == (without, "Internal medicine")
    assert list(
        StandingLine.objects.filter(standing=other).values_list("service_line", "count")
    ) == [("Orthopedics", 12)]
    stranger = ReferrerStanding.objects.get(key="stranger")
    assert stranger.clinician is None and stranger.liaison is None


def test_it_updates_known_referrers_and_drops_those_gone(north):
    person = rf.clinician(north["maple"])
    standings_write(
        facts=facts(*monthly(person.npi, [2] * 12), *monthly("gone", [1] * 12)),
        scope=DECEMBER,
        now=NOW,
    )
    first = ReferrerStanding.objects.get(key=person.npi)
    later = NOW + dt.timedelta(days=1)
    standings_write(facts=facts(*monthly(person.npi, [4] * 12)), scope=DECEMBER, now=later)
    again = ReferrerStanding.objects.get(key=person.npi)
    assert again.pk == first.pk and again.total == 48 and again.computed_at == later
    assert list(ReferrerStanding.objects.values_list("key", flat=True)) == [person.npi]
    assert StandingLine.objects.count() == 1


def test_it_refreshes_from_the_fact_table(north, line):
    person = rf.clinician(north["maple"])
    for days in (400, 200, 100, 30, 10):
        factories.referral(line=line, clinician=person, received_at=NOW - dt.timedelta(days=days))
    facts_load(now=NOW)
    assert standings_refresh(now=NOW) == 1
    row = ReferrerStanding.objects.get()
    assert (row.clinician, row.total, row.organization) == (person, 5, north["maple"])
    assert row.lines == [["Orthopedics", 5]]


def test_it_refreshes_once_a_day_from_the_scheduler(north, line):
    person = rf.clinician(north["maple"])
    factories.referral(line=line, clinician=person, received_at=NOW - dt.timedelta(days=40))
    facts_load(now=NOW)
    assert standings_daily(NOW) == 1
    assert standings_daily(NOW + dt.timedelta(minutes=10)) == 0  # done for the day
    assert standings_daily(NOW + dt.timedelta(days=1)) == 1
