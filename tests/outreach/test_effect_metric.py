"""outreach_effect on facts small enough to work out by hand."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from refloop.analytics.facts import UTC_TIME
from refloop.analytics.metrics.outreach_effect import (
    effect_words,
    months_shift,
    outreach_effect,
    window_months,
)

UTC = ZoneInfo("UTC")
AS_OF = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 5, 1)}
TOUCH = dt.date(2026, 4, 10)  # before [Feb 10, Apr 10), after [Apr 10, Jun 10) with months=2


def _facts(referrers: dict[str, list[tuple[dt.date, bool]]]) -> pl.DataFrame:
    rows = []
    for key, referrals in referrers.items():
        for day, seen in referrals:
            received = dt.datetime.combine(day, dt.time(12), dt.UTC)
            rows.append((key, received, received + dt.timedelta(days=20) if seen else None))
    return pl.DataFrame(
        rows,
        schema={"referrer_key": pl.String, "received_at": UTC_TIME, "seen_at": UTC_TIME},
        orient="row",
    )


def _before(count: int, seen: int) -> list[tuple[dt.date, bool]]:
    return [(dt.date(2026, 3, 1), i < seen) for i in range(count)]


def _after(count: int, seen: int) -> list[tuple[dt.date, bool]]:
    return [(dt.date(2026, 5, 1), i < seen) for i in range(count)]


def test_it_shifts_months_and_measures_a_cut_window():
    assert months_shift(dt.date(2026, 5, 31), -3) == dt.date(2026, 2, 28)
    assert months_shift(dt.date(2026, 11, 15), 2) == dt.date(2027, 1, 15)
    # Jul 15 + 1 month = Aug 15 <= Sep 1; then 17 of the 31 days to Sep 15.
    assert window_months(dt.date(2026, 7, 15), dt.date(2026, 9, 1), 2) == pytest.approx(1 + 17 / 31)
    assert window_months(dt.date(2026, 4, 10), dt.date(2026, 6, 10), 2) == 2.0


def test_it_works_out_one_touched_referrer_by_hand():
    facts = _facts(
        {
            "T": _before(2, 1) + _after(8, 6),  # 1.0 -> 4.0 a month; 1/2 -> 6/8 seen
            "C1": _before(4, 2) + _after(4, 2),  # 2.0 -> 2.0
            "C2": _before(2, 2) + _after(4, 2),  # 1.0 -> 2.0
            "C3": _before(10, 5) + _after(10, 5),  # 5 a month: another band
            "C4": _before(2, 0) + _after(9, 0),  # touched in T's after window: not comparable
            "X": [(dt.date(2025, 1, 5), True)],  # 0 a month: another band
        }
    )
    touches = {"T": [TOUCH, dt.date(2026, 4, 20)], "C4": [dt.date(2026, 6, 1)]}
    effect = outreach_effect(facts, touches=touches, **APRIL, as_of=AS_OF, tz=UTC, months=2)

    assert (effect.touched, effect.matched, effect.unmatched, effect.too_recent) == (1, 1, 0, 0)
    assert effect.comparison_size == 2  # C1 and C2
    assert effect.touched_figures.before_per_month == 1.0
    assert effect.touched_figures.after_per_month == 4.0
    assert effect.comparison_figures.before_per_month == 1.5
    assert effect.comparison_figures.after_per_month == 2.0
    # (4 - 1) - (2 - 1.5)
    assert effect.volume.estimate == pytest.approx(2.5)
    # touched 6/8 - 1/2 = 0.25; comparable (2/4) - (2/3) = -1/6 (each control weighs 1/2)
    assert effect.comparison_figures.before_conversion == pytest.approx(2 / 3)
    assert effect.conversion.estimate == pytest.approx(0.25 + 1 / 6)
    # One touched referrer: an estimate, no interval.
    assert effect.volume.low is None
    assert "too few" in effect_words(effect.volume, unit="referrals a month")


def test_it_leaves_out_the_too_recent_and_the_unmatched():
    facts = _facts({"T": _before(20, 0), "R": _before(2, 0), "C": _before(2, 0)})
    touches = {"T": [TOUCH], "R": [dt.date(2026, 8, 20)]}  # 12 days before as_of
    effect = outreach_effect(
        facts, touches=touches, start=TOUCH, end=AS_OF.date(), as_of=AS_OF, tz=UTC, months=2
    )
    assert (effect.touched, effect.matched, effect.unmatched, effect.too_recent) == (2, 0, 1, 1)
    assert effect.volume.estimate is None
    assert effect_words(effect.volume, unit="referrals a month") == "Not enough data to compare."


def test_it_matches_within_a_stratum_when_given():
    facts = _facts({"T": _before(2, 0), "C1": _before(2, 0), "C2": _before(4, 0) + _after(8, 0)})
    touches = {"T": [TOUCH]}
    strata = {"T": "Family", "C1": "Cardiology", "C2": "Family"}
    effect = outreach_effect(
        facts, touches=touches, **APRIL, as_of=AS_OF, tz=UTC, months=2, strata=strata
    )
    assert effect.comparison_size == 1
    assert effect.volume.estimate == pytest.approx((0 - 1) - (4 - 2))


def _six_touched(after_counts):
    referrers = {f"T{i}": _before(4, 2) + _after(n, n // 2) for i, n in enumerate(after_counts)}
    referrers |= {"C1": _before(4, 2) + _after(4, 2), "C2": _before(2, 2) + _after(4, 2)}
    touches = {f"T{i}": [TOUCH] for i in range(len(after_counts))}
    return _facts(referrers), touches


def test_it_calls_an_interval_spanning_zero_noise():
    # Touched: 2.0 a month before; after +2, -1, +1.5, -1.5, +0.5, -0.5 a month: mean +1/6.
    # Comparable: +0.5 a month. Difference-in-differences: 1/6 - 1/2 = -1/3.
    facts, touches = _six_touched([8, 2, 7, 1, 5, 3])
    effect = outreach_effect(facts, touches=touches, **APRIL, as_of=AS_OF, tz=UTC, months=2)
    assert effect.matched == 6
    assert effect.volume.estimate == pytest.approx(-1 / 3)
    assert effect.volume.low < -1 / 3 < effect.volume.high
    assert effect.volume.spans_zero
    words = effect_words(effect.volume, unit="referrals a month")
    assert words.endswith("not distinguishable from noise.")
    assert "-0.3 referrals a month" in words
    again = outreach_effect(facts, touches=touches, **APRIL, as_of=AS_OF, tz=UTC, months=2)
    assert again.volume == effect.volume  # seeded: the same data give the same interval


def test_it_words_a_clear_difference_as_an_association():
    # After: 4.0 or 4.5 a month (deltas +2.0 / +2.5); comparable +0.5: 1.5 to 2.0 each.
    facts, touches = _six_touched([8, 9, 8, 9, 8, 9])
    effect = outreach_effect(facts, touches=touches, **APRIL, as_of=AS_OF, tz=UTC, months=2)
    assert effect.volume.estimate == pytest.approx(1.75)
    assert 1.5 <= effect.volume.low <= effect.volume.high <= 2.0
    assert not effect.volume.spans_zero
    words = effect_words(effect.volume, unit="referrals a month")
    assert "an association, not proof" in words and "caused" in words
