"""Calendars in the admin: visit types and sessions are set up there; slots and the
third-next-available history are only looked at."""

import datetime as dt

from django.urls import reverse

from refloop.access.models import Slot, SlotTemplate, ThirdNextAvailable
from refloop.access.services import slots_generate, tna_measure
from tests.access.conftest import in_days, slot
from tests.admin.conftest import signed_in_with_second_factor


def test_it_sets_up_sessions_and_shows_slots_and_tna_read_only(
    client, admin_user, line, consult, doctor
):
    web = signed_in_with_second_factor(client, admin_user)
    day = dt.date(2027, 2, 1)  # a Monday, a business day
    response = web.post(
        reverse("admin:access_slottemplate_add"),
        {
            "clinician": doctor.pk,
            "visit_type": consult.pk,
            "weekday": day.weekday(),
            "start_time": "09:00",
            "end_time": "10:00",
            "location": "Clinic 2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert SlotTemplate.objects.count() == 1
    slots_generate(service_line_id=line.pk, start=day, end=day + dt.timedelta(days=7))
    tna_measure(day=day)

    for name, row in [
        ("visittype", consult),
        ("slottemplate", SlotTemplate.objects.get()),
        ("slot", Slot.objects.first()),
        ("thirdnextavailable", ThirdNextAvailable.objects.get()),
    ]:
        assert web.get(reverse(f"admin:access_{name}_changelist")).status_code == 200, name
        assert web.get(reverse(f"admin:access_{name}_change", args=[row.pk])).status_code == 200
    assert web.get(reverse("admin:access_slot_add")).status_code == 403
    assert web.get(reverse("admin:access_thirdnextavailable_add")).status_code == 403


def test_it_withdraws_the_chosen_slots_from_the_admin(client, admin_user, line, consult, doctor):
    web = signed_in_with_second_factor(client, admin_user)
    away, kept = slot(consult, doctor, in_days(3)), slot(consult, doctor, in_days(4))

    response = web.post(
        reverse("admin:access_slot_changelist"),
        {"action": "withdraw", "_selected_action": [away.pk]},
        follow=True,
    )

    assert "1 slot(s) withdrawn." in response.content.decode()
    assert list(Slot.objects.filter(withdrawn=True)) == [away]
    assert not Slot.objects.get(pk=kept.pk).withdrawn
