"""The arithmetic of the rules, worked by hand (refloop.gifts.rules)."""

import datetime as dt
from decimal import Decimal

import pytest

from refloop.gifts.rules import (
    Attendee,
    cash_words,
    cure_covers,
    cure_due_date,
    cure_window_start,
    incidental_within,
    is_physician,
    money,
    split_equally,
)


def people(physicians: int, staff: int) -> list[Attendee]:
    return [Attendee(f"Dr {i}", clinician_id=10 + i, physician=True) for i in range(physicians)] + [
        Attendee(f"Staff {i}") for i in range(staff)
    ]


def test_it_splits_a_187_50_lunch_for_4_physicians_and_2_staff_into_31_25_each():
    shares = split_equally(Decimal("187.50"), people(4, 2))
    assert [amount for _, amount in shares] == [Decimal("31.25")] * 6
    assert sum(amount for a, amount in shares if a.physician) == Decimal("125.00")


def test_it_gives_the_odd_cents_to_physicians_first():
    # $100.00 / 3 = 33.33 r 0.01: the physician (listed last) takes the extra cent.
    attendees = [Attendee("Coordinator"), Attendee("Manager"), Attendee("Dr", 7, True)]
    shares = {a.name: amount for a, amount in split_equally(Decimal("100.00"), attendees)}
    assert shares == {
        "Dr": Decimal("33.34"),
        "Coordinator": Decimal("33.33"),
        "Manager": Decimal("33.33"),
    }
    # $50.00 / 7 = 7.14 r 0.02: the two physicians with the lowest ids take a cent each.
    shares = split_equally(Decimal("50.00"), people(3, 4))
    amounts = [(a.clinician_id, amount) for a, amount in shares]
    assert amounts[:3] == [(10, Decimal("7.15")), (11, Decimal("7.15")), (12, Decimal("7.14"))]
    assert sum(amount for _, amount in shares) == Decimal("50.00")


def test_it_never_takes_a_float_for_money():
    with pytest.raises(TypeError):
        money(12.5)
    assert money("12.345") == Decimal("12.35")


def test_it_knows_a_physician_by_the_stark_definition():
    assert all(is_physician(c) for c in ("MD", "M.D.", "DO", "MD, PhD", "DPM", "DDS", "OD", "DC"))
    assert not any(is_physician(c) for c in ("NP", "PA-C", "RN", "", "PhD"))


def test_it_dates_a_cure_180_days_or_year_end_whichever_is_earlier():
    # 10 March + 180 days: 21 (rest of March) + 30 + 31 + 30 + 31 + 31 = 174 -> 6 September.
    assert cure_due_date(dt.date(2026, 3, 10)) == dt.date(2026, 9, 6)
    # 1 September + 180 days is in February: 31 December comes first.
    assert cure_due_date(dt.date(2026, 9, 1)) == dt.date(2026, 12, 31)


def test_it_counts_three_years_back_from_the_excess():
    assert cure_window_start(dt.date(2026, 3, 10)) == dt.date(2023, 3, 10)
    assert cure_window_start(dt.date(2028, 2, 29)) == dt.date(2025, 2, 28)


def test_it_cures_up_to_half_the_limit_and_not_a_cent_more():
    assert cure_covers(Decimal("267.50"), Decimal("535"))
    assert not cure_covers(Decimal("267.51"), Decimal("535"))


def test_it_keeps_incidental_benefits_strictly_under_the_figure():
    assert incidental_within(Decimal("43.99"), Decimal("44"))
    assert not incidental_within(Decimal("44.00"), Decimal("44"))


def test_it_spots_cash_equivalents_in_a_description():
    assert cash_words("$50 Amazon gift card") == "gift card"
    assert cash_words("Visa prepaid card") == "prepaid card"
    assert cash_words("a check for $50") == "check for $50"
    assert cash_words("Cashew cookies and coffee") is None
    assert cash_words("Lunch-and-learn, sandwiches") is None
