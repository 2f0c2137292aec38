"""Cycle times on hand-built referrals; the grouped pass checked against DuckDB's quantile_cont."""

import datetime as dt
import random

import duckdb
import polars as pl

from refloop.analytics.cohorts import cohort_select
from refloop.analytics.facts import STEPS
from refloop.analytics.metrics.cycle import (
    cycle_frame,
    cycle_times,
    cycle_times_by,
    group_scope,
)
from refloop.analytics.metrics.funnel import funnel
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, at, facts
from tests.analytics.test_funnel import march_referrals

MARCH = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)  # as_of = 2025-04-01 00:00 New York
HOUR = 3600


def acknowledgements():
    return facts(
        # Received Friday 16:00, acknowledged Monday 09:00: the clock gave it 1 h Friday + 1 h
        # Monday = 2 business hours (not the 65 hours between the timestamps).
        dict(
            received_at="2025-03-07 16:00",
            acknowledged_at="2025-03-10 09:00",
            acknowledged_gross=2 * HOUR,
            acknowledged_net=2 * HOUR,
            acknowledge_met=True,
        ),
        dict(
            received_at="2025-03-11 09:00",
            acknowledged_at="2025-03-11 10:00",
            acknowledged_gross=1 * HOUR,
            acknowledged_net=1 * HOUR,
            acknowledge_met=True,
        ),
        # 10 business hours, 5 of them waiting for records: net 5 h, over a 4 h target.
        dict(
            received_at="2025-03-12 09:00",
            acknowledged_at="2025-03-13 10:00",
            acknowledged_gross=10 * HOUR,
            acknowledged_net=5 * HOUR,
            acknowledge_met=False,
        ),
        dict(
            received_at="2025-03-14 09:00",
            acknowledged_at="2025-03-14 13:00",
            acknowledged_gross=4 * HOUR,
            acknowledged_net=4 * HOUR,
            acknowledge_met=True,
        ),
        # Acknowledged after April 1: not known at the month's end, not counted.
        dict(
            received_at="2025-03-28 09:00",
            acknowledged_at="2025-04-02 09:00",
            acknowledged_gross=28 * HOUR,
            acknowledged_net=28 * HOUR,
            acknowledge_met=False,
        ),
        # Not acknowledged yet: the target still runs.
        dict(received_at="2025-03-31 09:00"),
    )


def test_it_takes_median_and_p90_of_business_durations_by_linear_interpolation():
    result = cycle_times(acknowledgements(), MARCH).step("acknowledged")

    assert result.count == 4
    # Gross, sorted: 1, 2, 4, 10 h. Median = (2 + 4) / 2 = 3 h. p90: position (4 - 1) x 0.9 =
    # 2.7, between 4 h and 10 h: 4 + 0.7 x (10 - 4) = 8.2 h.
    assert result.gross_median == 3 * HOUR
    assert round(result.gross_p90) == round(8.2 * HOUR)
    # Net, sorted: 1, 2, 4, 5 h. Median 3 h; p90 = 4 + 0.7 x (5 - 4) = 4.7 h.
    assert result.net_median == 3 * HOUR
    assert round(result.net_p90) == round(4.7 * HOUR)
    # Judged by April 1: 4; met 3.
    assert (result.judged, result.met, result.met_share) == (4, 3, 0.75)


def test_it_shows_no_target_share_for_a_step_without_a_target():
    result = cycle_times(acknowledgements(), MARCH)

    assert result.step("booked").target == ""
    assert result.step("booked").met_share is None
    assert result.step("booked").count == 0
    assert result.step("booked").gross_median is None
    assert [s.step for s in result.steps] == [s.name for s in STEPS]


def test_it_drills_into_the_durations_and_the_missed_targets():
    rows = acknowledgements()
    step = cycle_times(rows, MARCH).step("acknowledged")

    assert cohort_select(rows, MARCH, step.drill)["referral_id"].to_list() == [1, 2, 3, 4]
    assert cohort_select(rows, MARCH, step.missed_drill)["referral_id"].to_list() == [3]


def test_it_counts_the_visit_when_seen_and_judges_the_appointment_when_booked():
    rows = facts(
        # Seen on March 20 after 9 calendar days; the visit step is 6 business days of 9 h.
        dict(
            received_at="2025-03-11 09:00",
            booked_at="2025-03-12 09:00",
            appointment_at="2025-03-20 09:00",
            seen_at="2025-03-20 09:30",
            visit_gross=6 * 9 * HOUR,
            visit_net=6 * 9 * HOUR,
            appointment_met=True,
        ),
        # Booked on March 14 for April 3: not seen by April 1, so no visit yet; but the
        # appointment target was judged at the booking (April 3 is past its due date): missed.
        dict(
            received_at="2025-03-12 09:00",
            booked_at="2025-03-14 09:00",
            appointment_at="2025-04-03 09:00",
            appointment_met=False,
        ),
    )

    visit = cycle_times(rows, MARCH).step("visit")

    # One visit (54 h); two appointments judged, one met.
    assert (visit.count, visit.gross_median, visit.judged, visit.met) == (1, 54 * HOUR, 2, 1)


def test_it_groups_by_service_line_and_local_month_across_dst():
    rows = facts(
        # 23:30 EDT on March 31 is 03:30 UTC April 1: a March referral.
        dict(received_at="2025-03-31 23:30", service_line="Cardiology"),
        # DST began 2025-03-09 02:00; 03:30 that night is a March referral too.
        dict(received_at="2025-03-09 03:30", service_line="Cardiology"),
        # 23:30 EST on November 30 is 04:30 UTC December 1: a November referral.
        dict(received_at="2025-11-30 23:30", service_line="Cardiology"),
        dict(
            received_at="2025-11-03 09:00",
            service_line="Orthopedics",
            acknowledged_at="2025-11-03 10:00",
            acknowledged_gross=HOUR,
            acknowledged_net=HOUR,
        ),
    )
    year = Scope(
        start=dt.date(2025, 1, 1),
        end=dt.date(2026, 1, 1),
        as_of=dt.datetime(2026, 1, 1, tzinfo=NEW_YORK),
        tz=NEW_YORK,
    )

    groups = cycle_times_by(rows, year)

    assert [(g.key["service_line"], g.key["month"], g.funnel["received"]) for g in groups] == [
        ("Cardiology", dt.date(2025, 3, 1), 2),
        ("Cardiology", dt.date(2025, 11, 1), 1),
        ("Orthopedics", dt.date(2025, 11, 1), 1),
    ]
    assert groups[2].steps[0].gross_median == HOUR


def random_facts(n: int, seed: int = 5) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        received = at("2025-01-01 08:00") + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 360))
        row = dict(received_at=received, service_line=rng.choice(["Cardiology", "Orthopedics"]))
        if rng.random() < 0.8:
            gross = rng.randrange(0, 40 * HOUR)
            row |= dict(
                acknowledged_at=received + dt.timedelta(seconds=gross * 2),
                acknowledged_gross=gross,
                acknowledged_net=gross - rng.randrange(0, gross + 1),
                acknowledge_met=rng.random() < 0.7,
            )
        rows.append(row)
    return facts(*rows)


def test_it_gives_the_same_percentiles_as_duckdb_quantile_cont():
    rows = random_facts(400)
    year = Scope(
        start=dt.date(2025, 1, 1),
        end=dt.date(2026, 1, 1),
        as_of=dt.datetime(2025, 12, 1, tzinfo=NEW_YORK),
        tz=NEW_YORK,
    )
    ours = cycle_frame(rows, year).collect()
    cut = year.as_of.astimezone(dt.UTC)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    con.register("facts", rows.to_arrow())
    theirs = con.execute(
        """
        SELECT service_line, date_trunc('month', received_at)::DATE AS month, count(*) AS n,
          quantile_cont(acknowledged_gross, 0.5) FILTER (WHERE acknowledged_at < $cut) AS med,
          quantile_cont(acknowledged_net, 0.9) FILTER (WHERE acknowledged_at < $cut) AS p90
        FROM facts GROUP BY ALL ORDER BY ALL
        """,
        {"cut": cut},
    ).fetchall()

    assert len(theirs) == ours.height == 24  # 2 service lines x 12 months
    for mine, (line, month, n, median, p90) in zip(ours.iter_rows(named=True), theirs, strict=True):
        assert (mine["service_line"], mine["month"], mine["received"]) == (line, month, n)
        assert mine["acknowledged:gross_median"] == median
        if p90 is None:  # nothing acknowledged by as_of in that group (December)
            assert mine["acknowledged:net_p90"] is None
        else:
            assert abs(mine["acknowledged:net_p90"] - p90) < 1e-6


def test_it_gives_each_group_the_same_funnel_counts_as_the_funnel():
    rows = march_referrals()  # 12 March referrals, all Cardiology

    (group,) = cycle_times_by(rows, MARCH)

    assert group.key == {"service_line": "Cardiology", "month": dt.date(2025, 3, 1)}
    assert group.funnel == {s.name: s.count for s in funnel(rows, MARCH).steps}


def test_it_drills_into_one_group_judged_as_the_group_was():
    rows = random_facts(200)
    year = Scope(
        start=dt.date(2025, 1, 1),
        end=dt.date(2026, 1, 1),
        as_of=dt.datetime(2025, 6, 15, tzinfo=NEW_YORK),
        tz=NEW_YORK,
    )

    for group in cycle_times_by(rows, year, by=("service_line", "month", "priority")):
        narrowed = group_scope(year, group.key)
        step = group.steps[0]
        assert cohort_select(rows, narrowed, step.drill).height == step.count
        assert cohort_select(rows, narrowed, step.missed_drill).height == step.judged - step.met


def test_it_counts_a_target_missed_by_a_referral_that_ended_before_the_step():
    rows = facts(
        # Never acknowledged, cancelled March 20 with its acknowledgement target breached: missed.
        dict(
            received_at="2025-03-03 09:00",
            state="cancelled",
            ended_at="2025-03-20 09:00",
            acknowledge_met=False,
        ),
        # The same, but cancelled on April 2: at April 1 the judgement was not final.
        dict(
            received_at="2025-03-04 09:00",
            state="cancelled",
            ended_at="2025-04-02 09:00",
            acknowledge_met=False,
        ),
    )

    step = cycle_times(rows, MARCH).step("acknowledged")

    assert (step.count, step.judged, step.met, step.met_share) == (0, 1, 0, 0.0)
