"""Referrers: monthly counts, trend, segments and drop-off alerts on hand-built referrals.

Unless a test says otherwise the scope is December 2025 in New York: the window is January to
December 2025, as_of is 2026-01-01 00:00 local. Each referral is received at 10:00 local on the
2nd, 3rd, ... of its month (`monthly`). Someone else's referral in 2024 (`OLD`) shows the data
reaches back more than a year, so "new" can be told from "unseen".
"""

import datetime as dt
import math
import random
from collections import Counter
from zoneinfo import ZoneInfo

from refloop.analytics.cohorts import Drill, cohort_select
from refloop.analytics.metrics.referrers import month_drill, referrers, window
from refloop.analytics.metrics.stats import poisson_trend
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, facts

DECEMBER = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK)
OLD = {"referrer_key": "old", "referrer_name": "Dr Old", "received_at": "2024-06-03 10:00"}


def monthly(key: str, counts: list[int], *, year=2025, first_month=1, **columns) -> list[dict]:
    rows = []
    for offset, count in enumerate(counts):
        month = first_month + offset
        for i in range(count):  # the 2nd, 3rd, ... at 10:00; past the 26th, a minute later
            day, minute = 2 + i % 25, i // 25
            at = f"{year + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}-{day:02d} 10:{minute:02d}"
            rows.append(
                {"referrer_key": key, "referrer_name": f"Dr {key}", "received_at": at, **columns}
            )
    return rows


def report(*rows, scope=DECEMBER):
    return referrers(facts(OLD, *rows), scope)


def counts(referrer):
    return [m.count for m in referrer.monthly]


def test_it_counts_each_month_and_an_empty_month_is_a_zero():
    r = report(*monthly("a", [2, 0, 3, 0, 0, 1, 1, 1, 1, 1, 1, 4])).referrer("a")
    assert counts(r) == [2, 0, 3, 0, 0, 1, 1, 1, 1, 1, 1, 4]
    assert [m.month for m in r.monthly][:2] == [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
    assert r.total == 15  # 2 + 3 + 1*6 + 4
    # The referral of June 2024 is outside the window: "old" is not listed.
    assert report().referrers == ()


def test_it_puts_a_referral_in_the_local_month_it_arrived():
    rows = [
        # 11:30 pm on March 31 in New York is 03:30 UTC on April 1: March.
        {"referrer_key": "a", "received_at": "2025-03-31 23:30"},
        # 00:15 on November 1 is still 04:15 UTC on November 1 (EDT): November, not October.
        {"referrer_key": "a", "received_at": "2025-11-01 00:15"},
        # The DST change (2 am on November 2 becomes 1 am): still November.
        {"referrer_key": "a", "received_at": "2025-11-02 01:30"},
    ]
    r = report(*rows).referrer("a")
    assert counts(r)[2:4] == [1, 0]  # March 1, April 0
    assert counts(r)[9:11] == [0, 2]  # October 0, November 2
    # The same moment seen from Los Angeles: 1:30 am April 1 in New York is 10:30 pm March 31.
    west = Scope.month(dt.date(2025, 12, 1), tz=ZoneInfo("America/Los_Angeles"))
    one = facts(OLD, {"referrer_key": "b", "received_at": "2025-04-01 01:30"})
    assert counts(referrers(one, DECEMBER).referrer("b"))[2:4] == [0, 1]
    assert counts(referrers(one, west).referrer("b"))[2:4] == [1, 0]


def test_it_calls_a_referrer_whose_first_referral_is_this_month_new_not_growing():
    r = report(*monthly("a", [0] * 11 + [5])).referrer("a")
    assert r.segment == "new"
    assert r.first_referral_on == dt.date(2025, 12, 2)
    # New means first seen in the last 6 months: a first referral in June is not new.
    june = report(*monthly("b", [0] * 5 + [1] * 7)).referrer("b")
    assert june.segment != "new"


def test_it_does_not_call_anyone_new_when_the_data_starts_recently():
    # Only December is in the data: we cannot tell a new referrer from one we never saw.
    only = referrers(facts(*monthly("a", [0] * 11 + [5])), DECEMBER).referrer("a")
    assert only.segment != "new"
    assert only.segment == "occasional"  # 5 in the window, under one every two months


def test_it_calls_flat_counts_steady():
    r = report(*monthly("a", [4] * 12)).referrer("a")
    assert r.segment == "steady"
    assert r.monthly_change == 0 and r.trend_p == 1
    assert r.recent_change == 0  # (12 / 3) / (24 / 6) - 1


def test_it_calls_a_significant_rise_of_a_quarter_or_more_a_year_growing():
    r = report(*monthly("a", [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6])).referrer("a")
    assert r.trend_p < 0.05
    # The fitted change is far above +25% a year: (1 + monthly change)^12 >= 1.25.
    assert (1 + r.monthly_change) ** 12 > 1.25
    assert r.segment == "growing"
    # The last 3 months against the 6 before, shown beside it: 5 + 6 + 6 = 17 (5.67 a month)
    # against 2 + 3 + 3 + 4 + 4 + 5 = 21 (3.5 a month): +62%.
    assert math.isclose(r.recent_change, (17 / 3) / (21 / 6) - 1)


def test_it_calls_a_significant_fall_of_a_fifth_or_more_a_year_declining():
    r = report(*monthly("a", [6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1])).referrer("a")
    assert r.trend_p < 0.05 and (1 + r.monthly_change) ** 12 < 0.8
    assert r.segment == "declining"
    # Last 3: 2 + 1 + 1 = 4 (1.33 a month); the 6 before 5+4+4+3+3+2 = 21 (3.5 a month): -62%.
    assert math.isclose(r.recent_change, (4 / 3) / (21 / 6) - 1)


def test_it_calls_a_significant_but_small_rise_steady():
    # 1000, 1010, ..., 1110: with this many referrals a 1% rise a month is significant, but it
    # comes to about +12% a year (1.0095^12), under the +25% a segment needs.
    r = report(*monthly("a", [1000 + 10 * i for i in range(12)])).referrer("a")
    assert r.trend_p < 0.01
    assert 1.10 < (1 + r.monthly_change) ** 12 < 1.15
    assert r.segment == "steady"


def test_it_calls_a_large_but_noisy_rise_steady():
    # 1 1 0 2 1 0 1 2 1 3 2 1: more at the end, but 15 referrals cannot show a trend.
    r = report(*monthly("a", [1, 1, 0, 2, 1, 0, 1, 2, 1, 3, 2, 1])).referrer("a")
    assert r.recent_change > 0.25 and r.trend_p >= 0.05
    assert r.segment == "steady"


def test_it_calls_a_referrer_silent_for_90_days_after_six_or_more_dormant():
    # 4 a month January to September, none since: the last referral is September 5, and the last
    # 90 days run from October 3.
    r = report(*monthly("a", [4] * 9 + [0, 0, 0])).referrer("a")
    assert r.segment == "dormant"
    assert r.last_referral_on == dt.date(2025, 9, 5)
    assert r.days_since_last == (dt.date(2026, 1, 1) - dt.date(2025, 9, 5)).days  # 118
    # Only 5 before the silence: an occasional referrer's quiet spell, not a lost one.
    assert report(*monthly("b", [1, 1, 1, 1, 1] + [0] * 7)).referrer("b").segment == "occasional"
    # 6 before it: dormant.
    assert report(*monthly("c", [1] * 6 + [0] * 6)).referrer("c").segment == "dormant"


def test_it_counts_the_90_days_on_the_wall_clock():
    # As_of is January 1 00:00 (EST); 90 days before is October 3 00:00 (EDT) on the wall
    # clock. A referral at 00:30 on October 3 is inside the last 90 days: not dormant. (Counted
    # in UTC, 90 days before 05:00 UTC is 01:00 EDT, and it would fall outside.)
    late = {"referrer_key": "a", "received_at": "2025-10-03 00:30"}
    assert report(*monthly("a", [1] * 9), late).referrer("a").segment != "dormant"
    early = {"referrer_key": "a", "received_at": "2025-10-02 23:30"}
    assert report(*monthly("a", [1] * 9), early).referrer("a").segment == "dormant"


def test_it_calls_under_six_a_year_occasional():
    five = report(*monthly("a", [0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])).referrer("a")
    assert five.segment == "occasional"
    # Six in twelve months is one every two months: no longer occasional.
    six = report(*monthly("b", [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])).referrer("b")
    assert six.segment == "steady"


def test_it_alerts_when_a_referrer_stops_against_their_own_baseline():
    report_ = report(*monthly("a", [4] * 9 + [0, 0, 0]), *monthly("b", [4] * 12))
    (alert,) = report_.alerts
    assert alert.key == "a"
    # Baseline January to October 2025: 36 referrals in 304 days; recent November and December:
    # 61 days (calendar days: the DST change on November 2 does not add an hour).
    assert (alert.baseline_count, alert.baseline_days) == (36, 304)
    assert (alert.recent_count, alert.recent_days) == (0, 61)
    assert math.isclose(alert.expected, 36 * 61 / 304)  # 7.22
    assert math.isclose(alert.p_value, math.exp(-36 * 61 / 304))  # P(0 | 7.22) = 0.0007
    assert alert.rate_ratio.estimate == 0 and alert.rate_ratio.high < 1
    assert alert.recent_from == dt.date(2025, 11, 1) and alert.baseline_from == dt.date(2025, 1, 1)
    assert [m.count for m in alert.monthly] == [4] * 9 + [0, 0, 0]


def test_it_alerts_on_a_significant_drop_not_on_a_dip():
    # 3 a month January to October (30 in 304 days); November and December expect
    # 30 * 61 / 304 = 6.02.
    mu = 30 * 61 / 304
    # 1 referral: P(X <= 1) = e^-6.02 (1 + 6.02) = 0.017 < 0.05: an alert.
    drop = report(*monthly("a", [3] * 10 + [1, 0]))
    assert math.isclose(drop.alerts[0].p_value, math.exp(-mu) * (1 + mu))
    # 3 referrals: P(X <= 3) = e^-6.02 (1 + 6.02 + 6.02^2/2 + 6.02^3/6) = 0.15: no alert.
    assert math.exp(-mu) * (1 + mu + mu**2 / 2 + mu**3 / 6) > 0.05
    assert report(*monthly("a", [3] * 10 + [2, 1])).alerts == ()


def test_it_tests_only_referrers_with_fifteen_or_more_in_the_baseline():
    # 15 in the baseline: expected 15 * 61 / 304 = 3.01, P(0) = e^-3.01 = 0.049: an alert.
    fifteen = report(*monthly("a", [2, 2, 2, 2, 2, 2, 1, 1, 1, 0, 0, 0]))
    assert [a.key for a in fifteen.alerts] == ["a"]
    assert math.isclose(fifteen.alerts[0].p_value, math.exp(-15 * 61 / 304))
    # 14: not tested (and P(0) = e^-2.81 = 0.06 would not be significant anyway).
    assert report(*monthly("a", [2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0])).alerts == ()


def test_it_counts_the_current_month_so_far():
    # December so far: as_of is December 16 00:00, 15 of 31 days have passed.
    now = dt.datetime(2025, 12, 16, tzinfo=NEW_YORK)
    scope = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK, as_of=now)
    w = window(scope)
    assert w.exposures[-1] == 15 / 31 and w.exposures[:-1] == (1.0,) * 11
    # 4 a month, 2 so far in December: the same rate (about 4 * 15/31 = 1.9 expected): steady.
    r = report(*monthly("a", [4] * 11 + [2]), scope=scope).referrer("a")
    assert r.segment == "steady"
    assert math.isclose(r.recent_change, (4 + 4 + 2) / (2 + 15 / 31) / 4 - 1)  # +0.6%
    # A referral after as_of is not counted.
    later = {"referrer_key": "a", "received_at": "2025-12-20 10:00"}
    assert report(*monthly("a", [4] * 11 + [2]), later, scope=scope).referrer("a").total == 46


def test_it_counts_months_before_the_first_referral_out_of_the_trend():
    # First referral in February, 4 a month since: steady, not growing from January's zero.
    r = report(*monthly("a", [0] + [4] * 11)).referrer("a")
    assert counts(r)[0] == 0  # the series still shows January
    assert r.trend_p == 1 and r.segment == "steady"


def test_it_leaves_the_month_of_a_first_referral_in_the_window_out_of_the_trend():
    # First referral in March: March holds at least one by definition. From April on the counts
    # are flat (1 a month), so there is no trend; with March's 3 in, it would look like a fall.
    r = report(*monthly("a", [0, 0, 3] + [1] * 9)).referrer("a")
    assert r.monthly_change == 0 and r.trend_p == 1
    assert poisson_trend([3] + [1] * 9).slope < 0  # what counting March would have said
    # A first referral before the window is an ordinary month: January counts.
    since_2024 = {"referrer_key": "b", "received_at": "2024-11-05 10:00"}
    b = report(since_2024, *monthly("b", [3] + [1] * 11)).referrer("b")
    assert b.monthly_change < 0


def test_it_gives_the_service_line_mix_conversion_and_name():
    rows = [
        {"referrer_key": "a", "referrer_name": "Dr A", "practice": "Elm",
         "received_at": "2025-05-02 10:00", "service_line": "Cardiology",
         "seen_at": "2025-06-01 10:00"},
        {"referrer_key": "a", "referrer_name": "Dr A", "practice": "Elm",
         "received_at": "2025-06-02 10:00", "service_line": "Cardiology",
         "seen_at": "2025-07-01 10:00"},
        # Seen after as_of: not yet seen on December's page.
        {"referrer_key": "a", "referrer_name": "Dr A", "practice": "Elm",
         "received_at": "2025-12-02 10:00", "service_line": "Dermatology",
         "seen_at": "2026-01-05 10:00"},
        # Moved practice: the latest referral names it.
        {"referrer_key": "a", "referrer_name": "Dr A. Smith", "practice": "Oak",
         "received_at": "2025-12-03 10:00", "service_line": "Cardiology"},
    ]  # fmt: skip
    r = report(*rows).referrer("a")
    assert (r.name, r.practice) == ("Dr A. Smith", "Oak")
    assert [(x.service_line, x.count, x.share) for x in r.lines] == [
        ("Cardiology", 3, 0.75),
        ("Dermatology", 1, 0.25),
    ]
    assert (r.seen, r.conversion.estimate) == (2, 0.5)  # 2 seen of 4
    assert r.conversion.low < 0.5 < r.conversion.high
    assert r.days_since_last == 29  # December 3 to January 1


def test_it_counts_referrals_with_no_known_referrer_apart():
    rep = report(*monthly("", [1] * 12), *monthly("a", [1] * 12))
    assert rep.unattributed == 12
    assert [r.key for r in rep.referrers] == ["a"]


def test_it_filters_by_the_scope_and_counts_segments():
    scope = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK, service_lines=("Cardiology",))
    rows = [
        *monthly("a", [4] * 12, service_line="Cardiology"),
        *monthly("b", [4] * 12, service_line="Dermatology"),
        *monthly("c", [0] * 11 + [1], service_line="Cardiology"),
    ]
    rep = report(*rows, scope=scope)
    assert [r.key for r in rep.referrers] == ["a", "c"]
    assert {s.segment: s.count for s in rep.segments} == {
        "new": 1, "growing": 0, "steady": 1, "declining": 0, "dormant": 0, "occasional": 0,
    }  # fmt: skip


def test_it_drills_to_the_referrals_behind_a_referrers_numbers():
    rows = facts(OLD, *monthly("a", [1, 2] + [0] * 10), *monthly("b", [1] * 12))
    r = referrers(rows, DECEMBER).referrer("a")
    assert r.drill == Drill("referrers.referrals", "a")
    assert cohort_select(rows, DECEMBER, r.drill).height == r.total == 3
    february = cohort_select(rows, DECEMBER, month_drill("a", dt.date(2025, 2, 1)))
    assert february.height == r.monthly[1].count == 2
    # A shorter window drills into the same months as its numbers: July to December for "b".
    b = referrers(rows, DECEMBER, months=6).referrer("b")
    assert b.drill == Drill("referrers.referrals", "b|6")
    assert cohort_select(rows, DECEMBER, b.drill).height == b.total == 6


def test_it_tells_the_demo_generators_trajectories_apart():
    """Referrers simulated with the demo generator's own trajectories (refloop.demo.program):
    400 referrers, 25,000 referrals over 24 months, monthly Poisson counts from each referrer's
    volume. The segments land where the generator put them, within what 12 months can show."""
    from refloop.demo.program import TRAJECTORIES, Referrer

    rng = random.Random(5)
    people = [
        Referrer(None, None, min(25.0, rng.paretovariate(1.3)), weighted(rng, TRAJECTORIES),
                 rng.uniform(0.25, 0.85), {}, ())
        for _ in range(400)
    ]  # fmt: skip
    # As demo.population.arrivals: the program's daily total follows the sum of the volumes, so
    # a referrer's expected count is their volume times one scale for the whole two years.
    volumes = [[p.volume((month + 0.5) / 24) for p in people] for month in range(24)]
    scale = 25_000 / sum(map(sum, volumes))
    rows = []
    for month in range(24):
        day = dt.date(2024 + month // 12, month % 12 + 1, 1)
        for n, volume in enumerate(volumes[month]):
            for _ in range(poisson(rng, scale * volume)):
                rows.append({"referrer_key": f"r{n}", "received_at": f"{day} 10:00"})
    found = {r.key: r.segment for r in referrers(facts(*rows), DECEMBER).referrers}
    alerts = {a.key for a in report(*rows).alerts}
    called = Counter((p.trajectory, found.get(f"r{n}")) for n, p in enumerate(people))
    listed = Counter(p.trajectory for n, p in enumerate(people) if f"r{n}" in found)

    def share(trajectory, segment):
        return called[(trajectory, segment)] / listed[trajectory]

    assert share("steady", "steady") > 0.85
    assert share("steady", "growing") + share("steady", "declining") < 0.1  # a 5% test, and luck
    assert share("dormant", "dormant") > 0.4
    assert share("occasional", "dormant") < 0.1
    assert share("declining", "growing") == share("growing", "declining") == 0
    steady_alerts = sum(
        1 for n, p in enumerate(people) if p.trajectory == "steady" and f"r{n}" in alerts
    )
    assert steady_alerts / listed["steady"] < 0.06  # the test's 5%, give or take luck


def weighted(rng, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def poisson(rng, mean):
    """Knuth's method: count uniform draws until their product falls below e^-mean."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
