"""The booking section of the referral page and the calendar page, through the test client."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refloop.access.models import Appointment, ThirdNextAvailable
from refloop.access.services import appointment_book
from refloop.referrals.enums import State
from refloop.referrals.models import Referral
from tests.access.conftest import accepted, in_days, own_clinician, slot
from tests.factories import ago
from tests.web.helpers import sign_in


def page(client, referral) -> str:
    return client.get(reverse("referral_detail", args=[referral.pk])).content.decode()


def act(client, referral, action, **fields):
    html = page(client, referral)
    found = re.search(rf'name="{action}-version" value="(\d+)"', html)
    assert found, f"{action} is not offered on the page"
    data = {f"{action}-version": found.group(1)}
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return client.post(reverse("referral_act", args=[referral.pk, action]), data)


def offered_slots(html: str, action: str = "book") -> list[int]:
    return [int(v) for v in re.findall(rf'name="{action}-slot" value="(\d+)"', html)]


def test_it_offers_free_slots_by_day_and_books_the_one_chosen(
    client, routine, consult, doctor, scheduler
):
    first, second = slot(consult, doctor, in_days(3, hour=9)), slot(consult, doctor, in_days(4))
    sign_in(client, scheduler)

    html = page(client, routine)

    assert offered_slots(html) == [first.pk, second.pk]
    assert f"{timezone.localtime(first.starts_at):%a %-d %b}" in html
    assert "09:00 · Okafor · New consult · Clinic 2" in html
    assert 'name="book-starts_at"' not in html  # a calendar line: no typing in for a scheduler
    response = act(client, routine, "book", slot=second.pk)
    assert response.status_code == 302
    assert Appointment.objects.get(referral=routine).slot == second
    assert Referral.objects.get(pk=routine.pk).state == State.SCHEDULED


def test_it_marks_held_slots_for_urgent_referrals_and_hides_them_from_routine_ones(
    client, routine, urgent, consult, doctor, scheduler
):
    plain, held = slot(consult, doctor, in_days(2)), slot(consult, doctor, in_days(5), held=True)
    sign_in(client, scheduler)

    urgent_page, routine_page = page(client, urgent), page(client, routine)

    assert offered_slots(urgent_page) == [held.pk, plain.pk]
    assert 'class="badge urgent">urgent</span>' in urgent_page
    assert offered_slots(routine_page) == [plain.pk]


def test_it_keeps_hand_entry_for_managers_and_lines_off_the_calendar(
    client, line, routine, consult, doctor, scheduler, manager
):
    slot(consult, doctor, in_days(3))
    sign_in(client, manager)
    assert "Or enter a time by hand" in page(client, routine)

    line.uses_calendar = False
    line.save()
    sign_in(client, scheduler)
    html = page(client, routine)
    assert offered_slots(html) == [] and 'name="book-starts_at"' in html
    visit = timezone.localtime(in_days(3))
    assert act(client, routine, "book", starts_at=f"{visit:%Y-%m-%dT%H:%M}").status_code == 302
    assert Appointment.objects.get(referral=routine).starts_at == visit


def test_it_says_so_when_the_slot_was_just_taken(
    client, line, routine, consult, doctor, scheduler, intake, triage
):
    wanted = slot(consult, doctor, in_days(3))
    sign_in(client, scheduler)
    html = page(client, routine)
    version = re.search(r'name="book-version" value="(\d+)"', html).group(1)
    other = accepted(line, intake=intake, triage=triage)
    appointment_book(referral_id=other.pk, slot_id=wanted.pk, actor=scheduler)

    response = client.post(
        reverse("referral_act", args=[routine.pk, "book"]),
        {"book-version": version, "book-slot": wanted.pk},
    )

    assert response.status_code == 409
    assert "That slot was just taken; choose another." in response.content.decode()
    assert Referral.objects.get(pk=routine.pk).state == State.ACCEPTED


def test_it_asks_for_a_slot_or_a_time(client, routine, consult, doctor, scheduler):
    slot(consult, doctor, in_days(3))
    sign_in(client, scheduler)

    response = act(client, routine, "book")

    assert response.status_code == 400
    assert "Choose a free slot or enter a time." in response.content.decode()


def test_it_records_a_no_show_and_rebooks_from_the_page(
    client, routine, consult, doctor, scheduler, manager
):
    appointment_book(referral_id=routine.pk, starts_at=ago(hours=2), actor=manager)
    next_slot = slot(consult, doctor, in_days(4))
    sign_in(client, scheduler)

    assert offered_slots(page(client, routine), "no_show_rebook") == [next_slot.pk]
    response = act(client, routine, "no_show_rebook", slot=next_slot.pk)

    assert response.status_code == 302
    outcomes = list(routine.appointments.order_by("id").values_list("outcome", "slot_id"))
    assert outcomes == [("no_show", None), ("booked", next_slot.pk)]


def test_it_gives_the_slot_back_when_the_referral_is_cancelled_from_the_page(
    client, routine, consult, doctor, scheduler
):
    booked = slot(consult, doctor, in_days(3))
    appointment_book(referral_id=routine.pk, slot_id=booked.pk, actor=scheduler)
    sign_in(client, scheduler)

    act(client, routine, "cancel", reason="patient_declined")

    assert Referral.objects.get(pk=routine.pk).state == State.CANCELLED
    assert routine.appointments.get().outcome == "cancelled"


def test_it_shows_the_booking_section_in_the_same_queries_for_1_or_50_slots(
    client, routine, consult, doctor, scheduler
):
    slot(consult, doctor, in_days(1))
    sign_in(client, scheduler)
    with CaptureQueriesContext(connection) as one:
        assert len(offered_slots(page(client, routine))) == 1
    for n in range(49):
        slot(consult, own_clinician(f"Doc{n}"), in_days(2 + n % 10))
    with CaptureQueriesContext(connection) as fifty:
        assert len(offered_slots(page(client, routine))) == 50
    assert len(fifty) == len(one)


# The calendar page -----------------------------------------------------------------------


def calendar(client, line):
    return client.get(reverse("calendar"), {"line": line.pk})


def test_it_shows_each_clinicians_slots_free_booked_and_held_without_patient_names(
    client, line, routine, consult, doctor, scheduler
):
    slot(consult, doctor, in_days(2, hour=9))
    booked = slot(consult, doctor, in_days(3))
    slot(consult, doctor, in_days(4, hour=11), held=True)
    slot(consult, doctor, in_days(20))  # beyond two weeks
    appointment_book(referral_id=routine.pk, slot_id=booked.pk, actor=scheduler)
    ThirdNextAvailable.objects.create(
        measured_on=timezone.localdate(),
        service_line=line,
        clinician=doctor,
        visit_type=consult,
        days=4,
    )
    sign_in(client, scheduler)

    response = calendar(client, line)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Okafor, Sam" in html
    assert routine.number in html and "Quill" not in html
    assert html.count('class="badge met">free') == 1
    assert html.count('class="badge urgent">held') == 1
    assert "Mean: <strong>4.0 days</strong>" in html


def test_it_says_not_measured_for_a_line_off_the_calendar(client, line, manager):
    line.uses_calendar = False
    line.save()
    sign_in(client, manager)

    assert "not measured" in calendar(client, line).content.decode()


def test_it_keeps_the_calendar_from_roles_that_do_not_schedule(client, line, liaison, triage):
    for person in (liaison, triage):
        sign_in(client, person)
        assert calendar(client, line).status_code == 403


def test_it_shows_the_calendar_in_the_same_queries_for_1_or_50_slots(
    client, line, consult, doctor, scheduler, intake, triage
):
    first = slot(consult, doctor, in_days(1))
    referral = accepted(line, intake=intake, triage=triage)
    appointment_book(referral_id=referral.pk, slot_id=first.pk, actor=scheduler)
    sign_in(client, scheduler)
    with CaptureQueriesContext(connection) as one:
        calendar(client, line)
    for n in range(49):
        made = slot(consult, own_clinician(f"Doc{n}"), in_days(2 + n % 10))
        if n % 5 == 0:
            referral = accepted(line, intake=intake, triage=triage)
            appointment_book(referral_id=referral.pk, slot_id=made.pk, actor=scheduler)
    with CaptureQueriesContext(connection) as fifty:
        html = calendar(client, line).content.decode()
    assert html.count("R-") >= 11
    assert len(fifty) == len(one)
