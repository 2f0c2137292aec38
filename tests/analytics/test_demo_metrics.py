"""The demo's metrics land where its generator was built to put them (refloop/demo/generator.py,
"What the rates are based on"): read through the fact table and the metric code, as a manager
sees them, not counted from the raw tables."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from refloop.analytics.appointments import appointments_frame
from refloop.analytics.metrics.access import no_shows, waits
from refloop.analytics.metrics.communication import communication
from refloop.analytics.metrics.funnel import funnel
from refloop.analytics.metrics.loop_closure import loop_closed_within
from refloop.analytics.metrics.referrers import referrers
from refloop.analytics.queries import facts_frame
from refloop.analytics.scope import Scope
from refloop.demo.loader import demo_load

NOW = dt.datetime(2025, 6, 11, 19, 30, tzinfo=dt.UTC)
TZ = ZoneInfo("America/New_York")


@pytest.fixture
def program(db):
    """About 1,000 referrals over two years; the year before the last two months (settled by
    NOW) is the cohort."""
    demo_load(scale=0.04, seed=7, now=NOW)
    scope = Scope(start=dt.date(2024, 4, 1), end=dt.date(2025, 4, 1), as_of=NOW, tz=TZ)
    appointments = appointments_frame(start=scope.moment(scope.start), end=NOW)
    return facts_frame(), scope, appointments


def test_it_lands_the_demos_metrics_where_its_generator_aimed(program):
    # One load, every range (each load takes seconds).
    for check in (_seen, _records, _no_shows, _waits, _reports, _referrers):
        check(program)


def _seen(program):
    facts, scope, _ = program
    flow = funnel(facts, scope)
    assert flow.received > 300
    # "about 55-60% of referrals end in a visit and 40-45% never complete".
    assert 0.45 < flow.overall < 0.70
    assert sum(outcome.count for outcome in flow.outcomes) == flow.received


def _records(program):
    facts, scope, _ = program
    # "about 60% of our referrals arrive with at least one required document missing".
    assert 0.45 < communication(facts, scope).missing_records_rate < 0.75


def _no_shows(program):
    facts, scope, appointments = program
    # "a base rate that rises with the wait ... giving about 13-16% overall" (8-23% published).
    result = no_shows(appointments, facts, scope)
    assert 0.06 < result.overall.rate.estimate < 0.23
    waits_by_lead = {rate.group: rate for rate in result.by_lead_time if rate.visits >= 30}
    if "0-7" in waits_by_lead and "31+" in waits_by_lead:
        assert waits_by_lead["31+"].rate.estimate > waits_by_lead["0-7"].rate.estimate


def _waits(program):
    facts, scope, _ = program
    # AMN's survey: 17 to 40 days by specialty, oncology and imaging about 7-10, urgent a fifth.
    program_wait = next(w for w in waits(facts, scope) if w.service_line == "")
    assert 7 < program_wait.median_days < 40


def _reports(program):
    facts, scope, _ = program
    # "most reports within a couple of business days ... delivery confirmed for most".
    closed = loop_closed_within(facts, scope, days=14)
    assert closed.judged > 100
    assert 0.5 < closed.rate < 0.98


def _referrers(program):
    facts, scope, _ = program
    report = referrers(facts, Scope.month(dt.date(2025, 5, 1), tz=TZ, as_of=NOW))
    # A few referrers send most referrals (a Pareto-like spread), and they are not all alike.
    counts = sorted((r.total for r in report.referrers), reverse=True)
    top_fifth = sum(counts[: max(1, len(counts) // 5)])
    assert top_fifth > 0.4 * sum(counts)
    assert sum(1 for s in report.segments if s.count) >= 3
