"""facts_build on hand-built referrals: every answer worked out by hand below (Django-free).

The calendar: New York, weekdays 08:00-17:00 (9 business hours), federal holidays, no closures.
Times are local New York text (tests.analytics.factories.at)."""

import polars as pl

from refloop.analytics.build import facts_build
from refloop.analytics.facts import FACT_SCHEMA, MILESTONE_COLUMNS
from refloop.core.calendar import BusinessCalendar
from tests.analytics.factories import NEW_YORK, at, facts

HOUR = 3600
CALENDAR = BusinessCalendar(tz=NEW_YORK)
AS_OF = at("2025-04-01 12:00")

# Cardiology: routine in business hours (appointment in calendar days), stat around the clock.
TARGETS = pl.DataFrame(
    [
        ("Cardiology", "routine", "acknowledge", 4 * HOUR, "business_hours"),
        ("Cardiology", "routine", "triage", 8 * HOUR, "business_hours"),
        ("Cardiology", "routine", "first_contact", 16 * HOUR, "business_hours"),
        ("Cardiology", "routine", "appointment", 14 * 86400, "calendar_days"),
        ("Cardiology", "routine", "report", 16 * HOUR, "business_hours"),
        ("Cardiology", "stat", "acknowledge", 2 * HOUR, "business_hours"),
        ("Cardiology", "stat", "triage", 4 * HOUR, "business_hours"),
    ],
    schema=["service_line", "priority", "kind", "seconds", "unit"],
    orient="row",
)


def _rows(*rows):
    return facts(*rows).select(MILESTONE_COLUMNS)


def _intervals(rows, key):
    schema = {"referral_id": pl.Int64, key: pl.String, "started_at": FACT_SCHEMA["received_at"],
              "ended_at": FACT_SCHEMA["received_at"]}  # fmt: skip
    return pl.DataFrame(
        [(r, k, at(s), at(e) if e else None) for r, k, s, e in rows], schema=schema, orient="row"
    )


def waiting(*rows):
    return _intervals(rows, "kind")


def states(*rows):
    return _intervals(rows, "state")


def build(milestones, *, waits=None, in_states=None, as_of=AS_OF):
    return facts_build(
        milestones,
        waiting=waits,
        states=in_states,
        targets=TARGETS,
        calendar=CALENDAR,
        as_of=as_of,
    )


def one(frame: pl.DataFrame, referral_id: int = 1) -> dict:
    return frame.filter(pl.col("referral_id") == referral_id).to_dicts()[0]


def test_it_returns_exactly_the_fact_schema():
    got = build(_rows({"received_at": "2025-03-03 09:00"}), waits=waiting(), in_states=states())
    assert got.schema == pl.Schema(FACT_SCHEMA)
    assert build(_rows()).schema == pl.Schema(FACT_SCHEMA)


def test_it_counts_business_time_and_judges_the_acknowledge_and_triage_targets():
    row = one(
        build(
            _rows(
                {
                    "received_at": "2025-03-03 09:00",  # Monday
                    "acknowledged_at": "2025-03-03 11:30",
                    "accepted_at": "2025-03-04 10:00",
                    "decided_at": "2025-03-04 10:00",
                    "decision": "accepted",
                    "state": "accepted",
                }
            )
        )
    )
    # 09:00 -> 11:30 the same day: 2.5 h = 9000 s, within 4 h.
    assert row["acknowledged_gross"] == row["acknowledged_net"] == 9000
    assert row["acknowledge_met"] is True
    # Monday 09:00-17:00 (8 h) + Tuesday 08:00-10:00 (2 h) = 10 h, over the 8 h target.
    assert row["decided_gross"] == 10 * HOUR
    assert row["triage_met"] is False
    # First contact runs from acceptance and has not happened: still running, null.
    assert row["first_contact_met"] is None
    assert row["first_contact_gross"] is None
    # Without waiting or states the source knows nothing of them.
    assert row["waiting_missing_records_seconds"] is None
    assert row["seconds_in_received"] is None


def test_it_leaves_out_waiting_over_a_weekend_and_the_spring_forward_night():
    milestones = _rows(
        {
            "received_at": "2025-03-07 16:00",  # Friday; DST starts Sunday 2025-03-09
            "acknowledged_at": "2025-03-10 11:00",  # Monday
        }
    )
    waits = waiting((1, "missing_records", "2025-03-07 16:00", "2025-03-10 10:00"))
    row = one(build(milestones, waits=waits))
    # Gross: Friday 16-17 (1 h) + Monday 08-11 (3 h) = 4 h; waiting inside: 1 h + 2 h = 3 h.
    assert row["acknowledged_gross"] == 4 * HOUR
    assert row["acknowledged_net"] == 1 * HOUR
    assert row["acknowledge_met"] is True
    assert row["waiting_missing_records_seconds"] == 3 * HOUR
    assert row["waiting_authorization_pending_seconds"] == 0


def test_it_subtracts_overlapping_blockers_once():
    milestones = _rows({"received_at": "2025-03-03 08:00", "acknowledged_at": "2025-03-03 16:00"})
    waits = waiting(
        (1, "missing_records", "2025-03-03 09:00", "2025-03-03 12:00"),
        (1, "authorization_pending", "2025-03-03 11:00", "2025-03-03 13:00"),
    )
    row = one(build(milestones, waits=waits))
    # 8 h gross; waiting is the union 09:00-13:00 = 4 h (not 3 h + 2 h), net 4 h: met (<= 4 h).
    assert row["acknowledged_gross"] == 8 * HOUR
    assert row["acknowledged_net"] == 4 * HOUR
    assert row["acknowledge_met"] is True
    # Time with each blocker is its own (gross), overlaps and all.
    assert row["waiting_missing_records_seconds"] == 3 * HOUR
    assert row["waiting_authorization_pending_seconds"] == 2 * HOUR


def test_it_counts_stat_referrals_around_the_clock_across_dst():
    milestones = _rows(
        {
            "priority": "stat",
            "received_at": "2025-03-08 22:00",  # Saturday night
            "acknowledged_at": "2025-03-09 04:00",  # Sunday, after 02:00 became 03:00
        }
    )
    row = one(build(milestones))
    # Six hours on the wall clock, five elapsed; stat targets are elapsed: over 2 h, missed.
    assert row["acknowledged_gross"] == 5 * HOUR
    assert row["acknowledge_met"] is False


def test_it_stops_running_targets_when_the_referral_ends():
    milestones = _rows(
        # Cancelled after 1 business hour: the acknowledge target was not late, never finished.
        {"received_at": "2025-03-03 09:00", "ended_at": "2025-03-03 10:00", "state": "cancelled"},
        # Cancelled after 12 business hours (Mon 9-17 + Tue 8-12): already late, missed.
        {"received_at": "2025-03-03 09:00", "ended_at": "2025-03-04 12:00", "state": "cancelled"},
        # Still open at as_of, not acknowledged: running, null, however late.
        {"received_at": "2025-03-03 09:00"},
    )
    got = build(milestones)
    assert [one(got, n)["acknowledge_met"] for n in (1, 2, 3)] == [None, False, None]
    assert [one(got, n)["triage_met"] for n in (1, 2, 3)] == [None, False, None]


def test_it_judges_triage_at_a_reconsidered_decline_and_keeps_the_later_decision():
    milestones = _rows(
        {
            "received_at": "2025-03-03 09:00",  # Monday
            "acknowledged_at": "2025-03-05 12:00",
            "accepted_at": "2025-03-05 11:00",
            "decided_at": "2025-03-05 11:00",  # Wednesday: the later decision
            "decision": "accepted",
            "state": "accepted",
        }
    )
    in_states = states(
        (1, "received", "2025-03-03 09:00", "2025-03-03 09:30"),
        (1, "triage", "2025-03-03 09:30", "2025-03-03 10:00"),
        (1, "declined", "2025-03-03 10:00", "2025-03-05 10:00"),
        (1, "triage", "2025-03-05 10:00", "2025-03-05 11:00"),
        (1, "accepted", "2025-03-05 11:00", None),
    )
    row = one(build(milestones, in_states=in_states))
    # The decision step ends at the later decision: Mon 9-17 (8) + Tue (9) + Wed 8-11 (3) = 20 h.
    assert row["decided_gross"] == 20 * HOUR
    # The triage target was judged at the first decision, Monday 10:00: 1 h, met.
    assert row["triage_met"] is True
    # The decline stopped the acknowledge clock after 1 h (not late): it never finished.
    assert row["acknowledge_met"] is None
    # First contact starts at the (later) acceptance and is running.
    assert row["first_contact_met"] is None
    # Time in state: received 30 min; triage 30 min + 1 h; accepted Wed 11:00 -> as_of Tue
    # 2025-04-01 12:00: Wed 11-17 (6 h) + 18 business days (Mar 6..Mar 31, 9 h each) + Apr 1
    # 08-12 (4 h) = 6 + 162 + 4 = 172 h.
    assert row["seconds_in_received"] == 1800
    assert row["seconds_in_triage"] == 5400
    assert row["seconds_in_accepted"] == 172 * HOUR
    assert row["seconds_in_scheduled"] == 0


def test_it_judges_days_to_appointment_on_the_appointment_date_net_of_waiting():
    base = {
        "received_at": "2025-03-03 09:00",  # 14:00 UTC (EST)
        "accepted_at": "2025-03-03 12:00",
        "decided_at": "2025-03-03 12:00",
        "booked_at": "2025-03-05 10:00",
        # 13:30 UTC (EDT): 14 days 23.5 hours after receipt.
        "appointment_at": "2025-03-18 09:30",
        "first_contact_at": "2025-03-05 10:00",
        "state": "scheduled",
    }
    milestones = _rows(base, base)
    # Referral 1 waited a day before it was booked: due = receipt + 14 d + 1 d = 2025-03-18
    # 14:00 UTC, and 13:30 UTC is before it: met. Referral 2 did not wait: due 2025-03-17
    # 14:00 UTC (10:00 EDT, as the days are elapsed time), missed.
    waits = waiting((1, "missing_records", "2025-03-03 09:00", "2025-03-04 09:00"))
    got = build(milestones, waits=waits)
    assert [one(got, n)["appointment_met"] for n in (1, 2)] == [True, False]
    assert one(got, 2)["days_to_appointment"] == 14 + 23.5 / 24
    # Booked is counted in business time: Mon 9-17 (8) + Tue (9) + Wed 8-10 (2) = 19 h gross;
    # referral 1 waited Mon 9-17 (8) + Tue 8-9 (1) = 9 h of it.
    assert one(got, 1)["booked_gross"] == 19 * HOUR
    assert one(got, 1)["booked_net"] == 10 * HOUR
    # First contact: acceptance Mon 12:00 to booking Wed 10:00 = 5 + 9 + 2 = 16 h, within 16 h
    # for referral 2; referral 1 waited Tue 8-9 inside it: 15 h.
    assert one(got, 2)["first_contact_met"] is True
    # Not seen yet: no visit step.
    assert one(got, 1)["visit_gross"] is None


def test_it_judges_the_report_from_the_visit():
    milestones = _rows(
        {
            "received_at": "2025-03-03 09:00",
            "seen_at": "2025-03-11 15:00",  # Tuesday
            "appointment_at": "2025-03-11 14:00",
            "report_sent_at": "2025-03-12 10:00",
            "report_delivered_at": "2025-03-13 08:30",
            "ended_at": "2025-03-12 10:00",
            "state": "closed",
        },
        {
            "received_at": "2025-03-03 09:00",
            "seen_at": "2025-03-11 15:00",
            "appointment_at": "2025-03-11 14:00",
            "report_sent_at": "2025-03-14 10:00",  # Friday: 2 + 9 + 9 + 2 = 22 h
            "ended_at": "2025-03-14 10:00",
            "state": "closed",
        },
    )
    got = build(milestones)
    # Tue 15-17 (2 h) + Wed 08-10 (2 h) = 4 h, within 16 h.
    assert one(got, 1)["report_sent_gross"] == 4 * HOUR
    assert one(got, 1)["report_met"] is True
    assert one(got, 2)["report_met"] is False
    # Delivered Thursday 08:30: 2 + 9 + 0.5 = 11.5 h.
    assert one(got, 1)["report_delivered_gross"] == 11.5 * HOUR
    # Received Mon 03-03 09:00 to the appointment Tue 03-11 14:00: 8 + 9*5 (Tue-Fri, Mon) + 6.
    assert one(got, 1)["visit_gross"] == (8 + 45 + 6) * HOUR


def test_it_has_no_targets_where_the_service_line_sets_none():
    row = one(
        build(
            _rows(
                {
                    "service_line": "Dermatology",
                    "received_at": "2025-03-03 09:00",
                    "acknowledged_at": "2025-03-03 10:00",
                }
            )
        )  # fmt: skip
    )
    assert row["acknowledged_gross"] == HOUR
    assert row["acknowledge_met"] is None


def test_it_closes_a_blocker_left_open_when_the_referral_ended():
    milestones = _rows(
        {"received_at": "2025-03-03 09:00", "ended_at": "2025-03-03 15:00", "state": "cancelled"},
        {"received_at": "2025-03-31 09:00"},  # open: the blocker runs to as_of, 2025-04-01 12:00
    )
    waits = waiting(
        (1, "info_requested", "2025-03-03 10:00", None),
        (2, "info_requested", "2025-03-31 10:00", None),
    )
    got = build(milestones, waits=waits)
    # 10:00 -> the end at 15:00: 5 h, not a month of business hours.
    assert one(got, 1)["waiting_info_requested_seconds"] == 5 * HOUR
    # Mon 10-17 (7 h) + Tue 08-12 (4 h) = 11 h.
    assert one(got, 2)["waiting_info_requested_seconds"] == 11 * HOUR


def test_it_floors_each_waiting_stretch_on_its_own_as_the_clock_does():
    # Two blockers that only touch at 10:00:00.6: the live clock resumes and pauses again, and
    # adds floor(1.6 s) + floor(1.4 s) = 2 s of pause; a merged stretch would give floor(3 s).
    milestones = _rows({"received_at": "2025-03-03 09:00", "acknowledged_at": "2025-03-03 11:00"})
    waits = waiting(
        (1, "missing_records", "2025-03-03 09:59:59", "2025-03-03 10:00:00.600"),
        (1, "info_requested", "2025-03-03 10:00:00.600", "2025-03-03 10:00:02"),
    )
    row = one(build(milestones, waits=waits))
    assert row["acknowledged_gross"] == 2 * HOUR
    assert row["acknowledged_net"] == 2 * HOUR - 2


def test_it_merges_overlapping_blockers_within_a_referral_never_across_referrals():
    day = {"received_at": "2025-03-03 08:00", "acknowledged_at": "2025-03-03 17:00"}
    milestones = _rows(day, day)
    waits = waiting(
        (1, "missing_records", "2025-03-03 09:00", "2025-03-03 16:00"),
        (2, "missing_records", "2025-03-03 10:00", "2025-03-03 11:00"),
        (2, "info_requested", "2025-03-03 10:30", "2025-03-03 12:00"),
        (2, "authorization_pending", "2025-03-03 15:00", "2025-03-03 15:30"),
    )
    got = build(milestones, waits=waits)
    # Referral 1: 9 h less 7 h waiting = 2 h. Referral 2 (its 10:00 blocker starts inside
    # referral 1's, which must not matter): 10:00-12:00 and 15:00-15:30, 2.5 h: 6.5 h net.
    assert one(got, 1)["acknowledged_net"] == 2 * HOUR
    assert one(got, 2)["acknowledged_net"] == 6.5 * HOUR


def test_it_judges_days_to_appointment_on_the_first_booking_after_a_no_show():
    base = {
        "received_at": "2025-03-03 09:00",
        "booked_at": "2025-03-05 10:00",
        "appointment_at": "2025-03-31 09:00",  # rebooked after a no-show: 28 days, late
        "seen_at": "2025-03-31 09:30",
        "no_shows": 1,
        "state": "completed",
    }
    # The first booking was for 2025-03-12, 9 days after receipt: within 14 days. The live clock
    # judged it then and a no-show does not reopen it, so the target was met.
    with_first = _rows(base).with_columns(first_appointment_at=pl.lit(at("2025-03-12 09:00")))
    assert one(build(with_first))["appointment_met"] is True
    # A source that does not know the first booking's appointment (a file) judges the last one.
    assert one(build(_rows(base)))["appointment_met"] is False
    # Days to appointment are elapsed days to the last appointment: 09:00 EST to 09:00 EDT is
    # 28 days less the hour DST took on 2025-03-09.
    assert one(build(with_first))["days_to_appointment"] == 28 - 1 / 24


def bookings(*rows):
    schema = {"referral_id": pl.Int64, "at": FACT_SCHEMA["received_at"], "cancelled": pl.Boolean,
              "appointment_at": FACT_SCHEMA["received_at"]}  # fmt: skip
    return pl.DataFrame(
        [(r, at(when), cancelled, at(appt) if appt else None) for r, when, cancelled, appt in rows],
        schema=schema,
        orient="row",
    )


def test_it_judges_days_to_appointment_again_after_an_appointment_is_cancelled():
    base = {
        "received_at": "2025-03-03 09:00",
        "accepted_at": "2025-03-03 12:00",
        "booked_at": "2025-03-04 10:00",
        "state": "scheduled",
    }
    milestones = _rows(
        {**base, "appointment_at": "2025-03-20 09:00"},
        {**base, "appointment_at": "2025-03-14 09:00"},
        {**base, "state": "accepted"},
        {**base, "state": "cancelled", "ended_at": "2025-03-25 09:00"},
    )
    # Each was first booked for 2025-03-10 (7 days: met), cancelled on 03-06. Referral 1 was
    # booked again for 03-20 (16.96 days, DST: over 14, missed); referral 2 for 03-14 (10.96
    # days, met); referral 3 not yet (running: null); referral 4 ended on 03-25, 22 days after
    # receipt (late: missed).
    booked = [(n, "2025-03-04 10:00", False, "2025-03-10 09:00") for n in (1, 2, 3, 4)] + [
        (n, "2025-03-06 10:00", True, None) for n in (1, 2, 3, 4)
    ]
    again = [(1, "2025-03-07 10:00", False, "2025-03-20 09:00"),
             (2, "2025-03-07 10:00", False, "2025-03-14 09:00")]  # fmt: skip
    got = facts_build(
        milestones.with_columns(first_appointment_at=pl.lit(at("2025-03-10 09:00"))),
        waiting=None,
        states=None,
        targets=TARGETS,
        calendar=CALENDAR,
        as_of=AS_OF,
        bookings=bookings(*booked, *again),
    )
    assert [one(got, n)["appointment_met"] for n in (1, 2, 3, 4)] == [False, True, None, False]


def test_it_moves_the_due_date_by_the_waiting_while_the_reopened_clock_runs():
    milestones = _rows(
        {
            "received_at": "2025-03-03 09:00",
            "accepted_at": "2025-03-03 12:00",
            "booked_at": "2025-03-04 10:00",
            "appointment_at": "2025-03-19 09:00",  # 15.96 days after receipt
            "state": "scheduled",
        }
    )
    # Cancelled 03-06 10:00; waiting on authorization 03-06 10:00 to 03-07 10:00 (1 day) while
    # the reopened clock ran; booked again 03-07 11:00: due 03-17 09:00 EST + 1 day = 03-18
    # 14:00 UTC = 10:00 EDT; the appointment 03-19 is after it: missed. A day more waiting
    # before the first booking (Mon 09:00 - Tue 09:00) would move it to 03-19 10:00: met.
    books = bookings(
        (1, "2025-03-04 10:00", False, "2025-03-10 09:00"),
        (1, "2025-03-06 10:00", True, None),
        (1, "2025-03-07 11:00", False, "2025-03-19 09:00"),
    )
    waits = waiting((1, "authorization_pending", "2025-03-06 10:00", "2025-03-07 10:00"))
    more = waiting(
        (1, "authorization_pending", "2025-03-06 10:00", "2025-03-07 10:00"),
        (1, "missing_records", "2025-03-03 09:00", "2025-03-04 09:00"),
    )

    def met(w):
        return one(
            facts_build(
                milestones,
                waiting=w,
                states=None,
                targets=TARGETS,
                calendar=CALENDAR,
                as_of=AS_OF,
                bookings=books,
            )  # fmt: skip
        )["appointment_met"]

    assert met(waits) is False
    assert met(more) is True
