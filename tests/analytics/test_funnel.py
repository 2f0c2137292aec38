"""The funnel on hand-built referrals (New York times; the March 2025 cohort judged at April 1)."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from refloop.analytics.cohorts import cohort_select
from refloop.analytics.metrics.funnel import funnel
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, facts

MARCH = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)  # as_of = 2025-04-01 00:00 New York


def march_referrals():
    return facts(
        # 1 seen, report sent and delivered: closed
        dict(
            received_at="2025-03-03 09:00",
            accepted_at="2025-03-03 12:00",
            booked_at="2025-03-04 10:00",
            seen_at="2025-03-10 10:00",
            report_sent_at="2025-03-11 10:00",
            report_delivered_at="2025-03-12 10:00",
            ended_at="2025-03-11 10:00",
            state="closed",
        ),
        # 2 seen, report not yet sent
        dict(
            received_at="2025-03-05 09:00",
            accepted_at="2025-03-05 12:00",
            booked_at="2025-03-06 10:00",
            seen_at="2025-03-20 10:00",
            state="completed",
        ),
        # 3 declined, not indicated
        dict(
            received_at="2025-03-06 09:00",
            decided_at="2025-03-06 11:00",
            ended_at="2025-03-06 11:00",
            state="declined",
            decision="declined",
            outcome_reason="not_indicated",
        ),
        # 4 declined, then reconsidered and accepted: accepted, still open (active 03-25)
        dict(
            received_at="2025-03-07 09:00",
            accepted_at="2025-03-12 09:00",
            decided_at="2025-03-12 09:00",
            last_activity_at="2025-03-25 09:00",
            state="accepted",
            decision="accepted",
        ),
        # 5 redirected
        dict(
            received_at="2025-03-07 10:00",
            ended_at="2025-03-08 10:00",
            state="redirected",
            decision="redirected",
            outcome_reason="other_service_line",
        ),
        # 6 accepted, then the patient declined
        dict(
            received_at="2025-03-10 09:00",
            accepted_at="2025-03-10 12:00",
            ended_at="2025-03-12 12:00",
            state="cancelled",
            outcome_reason="patient_declined",
        ),
        # 7 booked, missed twice, cancelled at the no-show limit
        dict(
            received_at="2025-03-10 10:00",
            accepted_at="2025-03-10 12:00",
            booked_at="2025-03-11 12:00",
            ended_at="2025-03-28 12:00",
            state="cancelled",
            outcome_reason="no_show_limit",
            no_shows=2,
        ),
        # 8 in triage, quiet since Wed 03-05: business days 03-05..03-31 = 3+5+5+5+1 = 19 >= 10
        dict(received_at="2025-03-03 09:00", last_activity_at="2025-03-05 10:00", state="triage"),
        # 9 received Thu 03-27: business days 27, 28, 31 = 3 < 10: still open
        dict(received_at="2025-03-27 09:00", state="received"),
        # 10 23:30 on the 31st in New York is 03:30 UTC on April 1: still a March referral
        dict(received_at="2025-03-31 23:30", state="received"),
        # 11 cancelled on April 3, after as_of: open at April 1 (received Thu 03-20: 8 days)
        dict(
            received_at="2025-03-20 09:00",
            ended_at="2025-04-03 09:00",
            last_activity_at="2025-04-03 09:00",
            state="cancelled",
            outcome_reason="unable_to_reach",
        ),
        # 12 seen on April 2, after as_of: accepted and scheduled by April 1, not seen
        dict(
            received_at="2025-03-24 09:00",
            accepted_at="2025-03-25 09:00",
            booked_at="2025-03-26 09:00",
            seen_at="2025-04-02 09:00",
            last_activity_at="2025-04-02 09:00",
            state="completed",
        ),
        # not March: 00:30 on April 1 in New York, and 23:30 on February 28 (04:30 UTC March 1)
        dict(received_at="2025-04-01 00:30", state="received"),
        dict(received_at="2025-02-28 23:30", state="received"),
    )


def test_it_counts_each_step_as_of_the_month_end():
    result = funnel(march_referrals(), MARCH)

    # 12 March referrals (ids 1-12); accepted 1, 2, 4, 6, 7, 12; scheduled 1, 2, 7, 12;
    # seen 1, 2 (12 was seen after April 1); report sent and delivered: 1.
    counts = {s.name: s.count for s in result.steps}
    assert counts == {
        "received": 12,
        "accepted": 6,
        "scheduled": 4,
        "seen": 2,
        "report_sent": 1,
        "report_delivered": 1,
    }
    conversions = [s.from_previous for s in result.steps]
    # 6/12, 4/6, 2/4, 1/2, 1/1
    assert conversions == [None, 0.5, 4 / 6, 0.5, 0.5, 1.0]
    assert result.overall == 2 / 12


def test_it_says_where_every_referral_went_and_it_adds_up():
    result = funnel(march_referrals(), MARCH)

    lines = {(o.kind, o.reason): o.count for o in result.outcomes}
    assert lines == {
        ("seen", ""): 2,  # 1, 2
        ("declined", "not_indicated"): 1,  # 3 (4 was reconsidered and accepted)
        ("redirected", "other_service_line"): 1,  # 5
        ("cancelled", "patient_declined"): 1,  # 6
        ("no_show_limit", ""): 1,  # 7
        ("still_open", ""): 5,  # 4, 9, 10, 11 (cancelled after April 1), 12 (seen after)
        ("stale", ""): 1,  # 8
    }
    assert sum(o.count for o in result.outcomes) == result.received == 12
    assert [o.kind for o in result.outcomes] == [
        "seen",
        "declined",
        "redirected",
        "cancelled",
        "no_show_limit",
        "still_open",
        "stale",
    ]


def test_it_drills_into_exactly_the_referrals_behind_each_number():
    rows = march_referrals()
    result = funnel(rows, MARCH)

    for step in result.steps:
        assert cohort_select(rows, MARCH, step.drill).height == step.count
    ids = []
    for outcome in result.outcomes:
        behind = cohort_select(rows, MARCH, outcome.drill)
        assert behind.height == outcome.count
        ids += behind["referral_id"].to_list()
    # Every received referral is behind exactly one line.
    assert sorted(ids) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    stale = next(o for o in result.outcomes if o.kind == "stale")
    assert cohort_select(rows, MARCH, stale.drill)["referral_id"].to_list() == [8]


def test_it_does_not_count_a_holiday_as_a_quiet_business_day():
    # Quiet since Tuesday 2025-12-23; judged at Friday 12-26 00:00: business days 23, 24 (25 is
    # Christmas) = 2, not stale at 3. Judged at Monday 12-29: 23, 24, 26 = 3: stale.
    rows = facts(dict(received_at="2025-12-23 10:00", state="triage"))
    friday = Scope(
        start=dt.date(2025, 12, 1),
        end=dt.date(2026, 1, 1),
        as_of=dt.datetime(2025, 12, 26, tzinfo=NEW_YORK),
        tz=NEW_YORK,
    )
    monday = Scope(
        start=friday.start,
        end=friday.end,
        as_of=dt.datetime(2025, 12, 29, tzinfo=NEW_YORK),
        tz=NEW_YORK,
    )

    assert funnel(rows, friday, stale_after=3).outcomes[0].kind == "still_open"
    assert funnel(rows, monday, stale_after=3).outcomes[0].kind == "stale"


def test_it_leaves_out_a_visit_that_was_corrected_away():
    # A manager corrected a visit recorded by mistake: the fact row has no seen_at and the
    # referral is back to scheduled.
    rows = facts(
        dict(
            received_at="2025-03-03 09:00",
            accepted_at="2025-03-03 10:00",
            booked_at="2025-03-04 10:00",
            last_activity_at="2025-03-28 10:00",
            state="scheduled",
        )
    )

    result = funnel(rows, MARCH)

    assert result.step("scheduled").count == 1
    assert result.step("seen").count == 0
    assert [(o.kind, o.count) for o in result.outcomes] == [("still_open", 1)]


def test_it_filters_and_handles_an_empty_cohort():
    rows = march_referrals()
    orthopedics = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK, service_lines=("Orthopedics",))

    result = funnel(rows, orthopedics)

    assert result.received == 0
    assert result.overall is None
    assert result.outcomes == ()
    assert [s.from_previous for s in result.steps][1:] == [None] * 5


STATES = ["received", "triage", "accepted", "scheduled", "no_show", "completed", "closed"]
ENDINGS = [("declined", "not_indicated"), ("redirected", "subspecialty")]
ENDINGS += [("cancelled", r) for r in ("no_show_limit", "unable_to_reach", "")]
DAYS = st.integers(min_value=0, max_value=70)


@st.composite
def referral(draw):
    received = dt.datetime(2025, 3, 1, 9, tzinfo=NEW_YORK) + dt.timedelta(days=draw(DAYS) // 2)
    row = dict(received_at=received.astimezone(dt.UTC), state=draw(st.sampled_from(STATES)))
    for column in ("accepted_at", "booked_at", "seen_at", "last_activity_at"):
        if draw(st.booleans()):
            row[column] = (received + dt.timedelta(days=draw(DAYS))).astimezone(dt.UTC)
    if draw(st.booleans()):
        row["state"], row["outcome_reason"] = draw(st.sampled_from(ENDINGS))
        row["ended_at"] = (received + dt.timedelta(days=draw(DAYS))).astimezone(dt.UTC)
    return row


@given(st.lists(referral(), max_size=30), st.integers(min_value=1, max_value=20))
def test_it_always_puts_each_referral_in_exactly_one_line(rows, stale_after):
    frame = facts(*rows)

    result = funnel(frame, MARCH, stale_after=stale_after)

    assert sum(o.count for o in result.outcomes) == result.received
    assert len({(o.kind, o.reason) for o in result.outcomes}) == len(result.outcomes)
    behind = [cohort_select(frame, MARCH, o.drill)["referral_id"] for o in result.outcomes]
    assert sorted(sum((ids.to_list() for ids in behind), [])) == sorted(
        MARCH.cohort(frame)["referral_id"].to_list()
    )
