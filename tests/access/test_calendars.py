"""Slots made from templates on business days, withdrawn when a clinician is away, and the
daily third-next-available measure."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from refloop.access.jobs import calendars_daily
from refloop.access.models import Slot, SlotTemplate, ThirdNextAvailable
from refloop.access.queries import tna_for_line
from refloop.access.services import appointment_book, slot_withdraw, slots_generate, tna_measure
from refloop.core.errors import NotAllowed
from refloop.core.models import Closure
from tests.access.conftest import accepted, own_clinician, slot

NY = ZoneInfo("America/New_York")
MONDAY = dt.date(2027, 1, 11)  # Monday 18 January 2027 is Martin Luther King Jr. Day


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), NY)


def template(consult, doctor, weekday, start=dt.time(9), end=dt.time(10), **kwargs):
    return SlotTemplate.objects.create(
        clinician=doctor,
        visit_type=consult,
        weekday=weekday,
        start_time=start,
        end_time=end,
        location="Clinic 2",
        **kwargs,
    )


def local_starts(**filters) -> list[str]:
    return [
        f"{s.starts_at.astimezone(NY):%Y-%m-%d %H:%M}"
        for s in Slot.objects.filter(**filters).order_by("starts_at")
    ]


def test_it_makes_slots_on_business_days_only_and_skips_holidays_and_closures(
    line, consult, doctor
):
    template(consult, doctor, SlotTemplate.Weekday.MONDAY)
    template(consult, doctor, SlotTemplate.Weekday.WEDNESDAY, held_for_urgent=True)
    template(consult, doctor, SlotTemplate.Weekday.SATURDAY)
    Closure.objects.create(date=MONDAY + dt.timedelta(days=2), description="Staff retreat")

    made = slots_generate(service_line_id=line.pk, start=MONDAY, end=MONDAY + dt.timedelta(days=11))

    assert made == 4
    assert local_starts() == [
        "2027-01-11 09:00",
        "2027-01-11 09:30",
        "2027-01-20 09:00",
        "2027-01-20 09:30",
    ]
    assert local_starts(held_for_urgent=True) == ["2027-01-20 09:00", "2027-01-20 09:30"]
    first = Slot.objects.order_by("starts_at").first()
    assert (first.ends_at - first.starts_at, first.location) == (
        dt.timedelta(minutes=30),
        "Clinic 2",
    )


def test_it_makes_each_slot_once_however_often_it_runs(line, consult, doctor):
    template(consult, doctor, SlotTemplate.Weekday.MONDAY)
    slots_generate(service_line_id=line.pk, start=MONDAY, end=MONDAY)
    Slot.objects.update(withdrawn=True)

    again = slots_generate(service_line_id=line.pk, start=MONDAY, end=MONDAY + dt.timedelta(28))

    assert again == 6  # the three Mondays after (one a holiday: 25 Jan, 1 and 8 Feb), 2 each
    assert Slot.objects.count() == 8
    assert Slot.objects.filter(withdrawn=True).count() == 2  # still withdrawn, not remade


def test_it_keeps_templates_to_their_active_dates_and_local_time_across_dst(line, consult, doctor):
    template(consult, doctor, SlotTemplate.Weekday.MONDAY, active_from=dt.date(2027, 3, 8))

    slots_generate(service_line_id=line.pk, start=dt.date(2027, 3, 1), end=dt.date(2027, 3, 15))

    # 14 March 2027 is the change to summer time: 09:00 stays 09:00 local.
    assert local_starts() == [
        "2027-03-08 09:00",
        "2027-03-08 09:30",
        "2027-03-15 09:00",
        "2027-03-15 09:30",
    ]


def test_it_withdraws_free_slots_and_reports_the_booked_ones(
    line, consult, doctor, scheduler, intake, triage
):
    day = timezone.localdate() + dt.timedelta(days=10)
    free, booked, other_day = (
        slot(consult, doctor, at(day, 9)),
        slot(consult, doctor, at(day, 10)),
        slot(consult, doctor, at(day + dt.timedelta(days=1), 9)),
    )
    referral = accepted(line, intake=intake, triage=triage)
    appointment_book(referral_id=referral.pk, slot_id=booked.pk, actor=scheduler)

    result = slot_withdraw(
        clinician_id=doctor.pk,
        start=at(day, 0),
        end=at(day + dt.timedelta(days=1), 0),
        actor=scheduler,
    )

    assert (result.withdrawn, result.booked_slot_ids) == (1, (booked.pk,))
    assert set(Slot.objects.filter(withdrawn=True)) == {free}
    assert not Slot.objects.get(pk=other_day.pk).withdrawn


def test_it_lets_only_schedulers_withdraw_slots(doctor, triage):
    with pytest.raises(NotAllowed):
        slot_withdraw(
            clinician_id=doctor.pk,
            start=at(MONDAY, 0),
            end=at(MONDAY, 23),
            actor=triage,
        )


# Third next available ------------------------------------------------------------------------

DAY = dt.date(2027, 2, 1)  # a Monday


def test_it_counts_days_to_the_third_free_unheld_slot_per_clinician(
    line, consult, doctor, scheduler, intake, triage
):
    other = own_clinician("Lindqvist")
    slot(consult, doctor, at(DAY, 7))  # before the measuring time: not counted
    slot(consult, doctor, at(DAY, 9))
    slot(consult, doctor, at(DAY, 10), held=True)
    slot(consult, doctor, at(DAY + dt.timedelta(days=1), 9))
    slot(consult, doctor, at(DAY + dt.timedelta(days=1), 10), withdrawn=True)
    taken = slot(consult, doctor, at(DAY + dt.timedelta(days=2), 9))
    slot(consult, doctor, at(DAY + dt.timedelta(days=3), 9))  # the third
    slot(consult, doctor, at(DAY + dt.timedelta(days=8), 9))
    slot(consult, other, at(DAY, 9))
    slot(consult, other, at(DAY + dt.timedelta(days=5), 9))
    referral = accepted(line, intake=intake, triage=triage)
    appointment_book(referral_id=referral.pk, slot_id=taken.pk, actor=scheduler)

    rows = tna_measure(day=DAY, at=dt.time(8))

    assert {(r.clinician_id, r.days) for r in rows} == {(doctor.pk, 3), (other.pk, None)}
    summary = tna_for_line(service_line_id=line.pk)
    assert (summary.measured_on, summary.mean_days, summary.short_of_three) == (DAY, 3.0, 1)


def test_it_keeps_one_measure_a_day_and_replaces_it_when_measured_again(line, consult, doctor):
    for hours in (9, 10, 11):
        slot(consult, doctor, at(DAY + dt.timedelta(days=1), hours))
    tna_measure(day=DAY, at=dt.time(8))
    slot(consult, doctor, at(DAY, 9))
    slot(consult, doctor, at(DAY, 10))

    tna_measure(day=DAY, at=dt.time(8))

    assert list(ThirdNextAvailable.objects.values_list("measured_on", "days")) == [(DAY, 1)]


def test_it_does_not_measure_lines_that_do_not_use_the_calendar(line, consult, doctor):
    for hours in (9, 10, 11):
        slot(consult, doctor, at(DAY, hours))
    line.uses_calendar = False
    line.save()

    assert tna_measure(day=DAY, at=dt.time(8)) == []


def test_it_makes_slots_and_measures_once_a_day_from_the_scheduler(line, consult, doctor):
    template(consult, doctor, SlotTemplate.Weekday.MONDAY)
    template(consult, doctor, SlotTemplate.Weekday.TUESDAY)
    nine = at(DAY, 9)

    assert calendars_daily(at(DAY, 7)) == 0  # before the measuring time
    assert calendars_daily(nine) == 1
    assert calendars_daily(nine + dt.timedelta(minutes=5)) == 0  # done for today

    assert Slot.objects.filter(starts_at__gte=at(DAY + dt.timedelta(days=40), 0)).exists()
    row = ThirdNextAvailable.objects.get()
    # Measured from 08:00 (not from when the job ran): 1 Feb 09:00, 09:30, then 2 Feb 09:00.
    assert (row.measured_on, row.days) == (DAY, 1)
