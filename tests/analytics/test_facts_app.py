"""The fact table in the app: built from the referral tables, kept current by the scheduler,
read back whole on SQLite and PostgreSQL."""

import datetime as dt
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from polars.testing import assert_frame_equal

from refloop.analytics import jobs, queries
from refloop.analytics.build import facts_build
from refloop.analytics.facts import FACT_SCHEMA
from refloop.analytics.models import FactCursor, ReferralFact
from refloop.analytics.queries import facts_frame
from refloop.analytics.sources import facts_refresh, facts_sources, targets_frame
from refloop.core.calendar import practice_calendar
from refloop.demo.loader import demo_load
from refloop.directory.enums import TargetKind
from refloop.referrals.enums import ClockStatus, State
from refloop.referrals.models import Referral, ReferralClock, ReferralEvent
from refloop.referrals.services import referral_transition
from tests import factories

NOW = dt.datetime(2025, 6, 11, 19, 30, tzinfo=dt.UTC)
KINDS = {
    pl.Int64(): "BigIntegerField",
    pl.Int32(): "IntegerField",
    pl.Float64(): "FloatField",
    pl.Boolean(): "BooleanField",
    pl.String(): "CharField",
    pl.Datetime("us", "UTC"): "DateTimeField",
}
OUTCOME = {ClockStatus.MET: True, ClockStatus.MISSED: False}


@pytest.fixture
def demo(db):
    return demo_load(scale=0.02, seed=7, now=NOW)


def test_it_keeps_one_column_per_fact_of_the_same_kind():
    fields = [f for f in ReferralFact._meta.concrete_fields]
    columns = {f.attname: f.get_internal_type() for f in fields}
    assert [f.attname for f in fields][: len(FACT_SCHEMA)] == list(FACT_SCHEMA)
    assert set(columns) - set(FACT_SCHEMA) == {"events_through", "built_at"}
    for name, dtype in FACT_SCHEMA.items():
        if name == "referral_id":
            assert columns[name] == "OneToOneField"
        else:
            assert columns[name] == KINDS[dtype], name


def test_it_judges_targets_as_the_live_clocks_did(demo):
    facts = {row["referral_id"]: row for row in facts_frame().to_dicts()}
    assert len(facts) == Referral.objects.count()
    spans = {
        TargetKind.ACKNOWLEDGE: ("acknowledged", "acknowledged_at"),
        TargetKind.TRIAGE: ("decided", "decided_at"),
        TargetKind.REPORT: ("report_sent", "report_sent_at"),
    }
    compared = {kind: 0 for kind in spans}
    for clock in ReferralClock.objects.filter(kind__in=list(spans)):
        fact = facts[clock.referral_id]
        expected = OUTCOME.get(clock.outcome)  # ended early, still running: null
        assert fact[f"{clock.kind}_met"] is expected, (clock.referral_id, clock.kind)
        step, ends = spans[clock.kind]
        if clock.outcome in OUTCOME and clock.stopped_at == fact[ends]:
            # The clock's span and the step's span are one: the same net business time.
            assert fact[f"{step}_net"] == clock.net_seconds, (clock.referral_id, clock.kind)
            assert fact[f"{step}_gross"] == clock.gross_seconds
            compared[clock.kind] += 1
    assert all(count > 50 for count in compared.values()), compared
    # First contact and days to appointment (booked, cancelled, booked again included).
    others = ReferralClock.objects.filter(
        kind__in=[TargetKind.FIRST_CONTACT, TargetKind.APPOINTMENT]
    )
    judged = 0
    for clock in others:
        assert facts[clock.referral_id][f"{clock.kind}_met"] is OUTCOME.get(clock.outcome)
        judged += clock.outcome in OUTCOME
    assert judged > 300
    # The states a referral went through add up, and closed ones no longer grow.
    closed = [f for f in facts.values() if f["state"] == State.CLOSED]
    assert closed and all(f["seconds_in_completed"] is not None for f in closed)


def test_it_reads_the_same_frame_it_built(demo):
    built = ReferralFact.objects.values_list("built_at", flat=True).first()
    frames = facts_sources({"pk__gt": 0})
    expected = facts_build(
        frames["milestones"],
        waiting=frames["waiting"],
        states=frames["states"],
        bookings=frames["bookings"],
        targets=targets_frame(),
        calendar=practice_calendar(),
        as_of=built,
    ).with_columns(pl.col(n).fill_null("") for n, t in FACT_SCHEMA.items() if t == pl.String())
    got = facts_frame()
    assert got.schema == pl.Schema(FACT_SCHEMA)
    assert_frame_equal(got.sort("referral_id"), expected.sort("referral_id"))
    since = facts_frame(received_since=dt.date(2025, 1, 1))
    first = timezone.localtime(since["received_at"].min()).date()
    assert 0 < since.height < got.height and first >= dt.date(2025, 1, 1)
    later = got.filter(pl.col("referral_id").is_in(since["referral_id"].implode()))
    assert_frame_equal(since.sort("referral_id"), later.sort("referral_id"))
    few = facts_frame(columns=["triage_met", "referral_id", "received_at"])
    assert few.columns == ["referral_id", "received_at", "triage_met"]
    assert_frame_equal(few.sort("referral_id"), got.select(few.columns).sort("referral_id"))
    with pytest.raises(ValueError, match="not fact columns"):
        facts_frame(columns=["referral_id", "patient_name"])


def _open_referral(state=State.TRIAGE) -> Referral:
    return Referral.objects.filter(state=state).order_by("pk").first()


def test_it_follows_new_events_into_the_rows(demo):
    referral = _open_referral()
    assert ReferralFact.objects.get(pk=referral.pk).state == State.TRIAGE
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=None)
    # Not yet settled: a transaction with a lower id might still commit.
    assert jobs.facts_follow(timezone.now()) == 0
    assert jobs.facts_follow(timezone.now() + jobs.SETTLE) == 1
    fact = ReferralFact.objects.get(pk=referral.pk)
    assert fact.state == State.ACCEPTED and fact.decision == State.ACCEPTED
    assert fact.seconds_in_triage > 0 and fact.seconds_in_accepted == 0
    cursor = FactCursor.objects.get(name=jobs.FACTS_CURSOR)
    assert cursor.last_event_id == ReferralEvent.objects.latest("id").pk
    assert cursor.lease_until is None
    # Nothing new: the next pass reads nothing and writes nothing.
    assert jobs.facts_follow(timezone.now() + jobs.SETTLE) == 0


def test_it_loses_nothing_when_a_pass_is_killed_midway(demo, monkeypatch):
    first, second = Referral.objects.filter(state=State.TRIAGE).order_by("pk")[:2]
    for referral in (first, second):
        referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=None)
    before = FactCursor.objects.get(name=jobs.FACTS_CURSOR).last_event_id
    calls = []

    def refresh_then_die(*, referral_ids, now):
        calls.append(referral_ids)
        if len(calls) == 2:
            raise RuntimeError("scheduler killed")
        return facts_refresh(referral_ids=referral_ids, now=now)

    monkeypatch.setattr(jobs, "BATCH", 1)
    monkeypatch.setattr(jobs, "facts_refresh", refresh_then_die)
    with pytest.raises(RuntimeError):
        jobs.facts_follow(timezone.now() + jobs.SETTLE)
    # The first batch committed (its event and row); the second rolled back whole.
    cursor = FactCursor.objects.get(name=jobs.FACTS_CURSOR)
    assert cursor.last_event_id == before + 1 and cursor.lease_until is None
    assert ReferralFact.objects.get(pk=first.pk).state == State.ACCEPTED
    assert ReferralFact.objects.get(pk=second.pk).state == State.TRIAGE

    monkeypatch.setattr(jobs, "facts_refresh", facts_refresh)
    assert jobs.facts_follow(timezone.now() + jobs.SETTLE) == 1
    assert ReferralFact.objects.get(pk=second.pk).state == State.ACCEPTED


def test_it_refreshes_open_referrals_once_a_day(demo):
    referral = _open_referral(State.ACCEPTED)
    grown = timezone.now() + dt.timedelta(days=3)
    assert (
        jobs.facts_open_refresh(grown)
        == Referral.objects.filter(
            state__in=["received", "triage", "accepted", "scheduled", "no_show", "completed"]
        ).count()
    )
    assert jobs.facts_open_refresh(grown) == 0  # once a day
    fact = ReferralFact.objects.get(pk=referral.pk)
    assert fact.built_at == grown
    assert fact.seconds_in_accepted > 0


def test_it_rebuilds_the_facts_by_command(db):
    referral = factories.referral()
    ReferralFact.objects.all().delete()
    out = StringIO()
    call_command("refloop_facts", stdout=out)
    assert "Facts rebuilt for 1 referrals." in out.getvalue()
    fact = ReferralFact.objects.get(pk=referral.pk)
    assert fact.state == State.RECEIVED and fact.records_complete_on_arrival is True
    cursor = FactCursor.objects.get(name=jobs.FACTS_CURSOR)
    assert cursor.last_event_id == ReferralEvent.objects.latest("id").pk


@pytest.mark.django_db(transaction=True)
def test_it_reads_a_big_table_in_parts_at_once_and_gets_the_same_rows(monkeypatch):
    # Committed rows (transaction=True): the parts are read on other connections, which could
    # not see rows of a test's open transaction.
    referrals = [factories.referral() for _ in range(7)]
    facts_refresh(referral_ids=[r.pk for r in referrals])
    whole = facts_frame().sort("referral_id")
    monkeypatch.setattr(queries, "READERS", 3)
    monkeypatch.setattr(queries, "PART_IDS", 2)
    if connection.vendor == "postgresql":
        assert len(queries._parts('"analytics_referralfact"', "", [])) == 3
    assert_frame_equal(facts_frame().sort("referral_id"), whole)
    assert whole.height == 7
