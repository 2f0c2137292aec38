import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from refloop.access.jobs import reminders_send
from refloop.access.models import Appointment
from refloop.access.services import appointment_record_outcome
from refloop.core.scheduling import rows_claim
from refloop.messaging.models import OutboundMessage
from tests import factories
from tests.access.conftest import local_day_at

PRACTICE = settings.REFLOOP_PRACTICE_NAME
MINUTE = dt.timedelta(minutes=1)


def moment(appointment, days, zone=settings.TIME_ZONE):
    day = appointment.starts_at.astimezone(ZoneInfo(zone)).date() - dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(10, 0), ZoneInfo(zone))


@pytest.fixture
def appointment(referral):
    factories.patient_reachable(referral)
    booked = factories.booked(referral, starts_at=local_day_at(10, 14, 0))
    booked.refresh_from_db()
    return booked


def _reminders(appointment):
    return {
        m.dedupe_key: m
        for m in OutboundMessage.objects.filter(
            referral_id=appointment.referral_id, purpose="reminder"
        )
    }


def test_it_plans_the_first_reminder_when_the_visit_is_booked(appointment):
    assert appointment.next_reminder_at == moment(appointment, 7)


def test_it_queues_each_reminder_at_ten_n_days_before_the_visit(appointment):
    seven, two = moment(appointment, 7), moment(appointment, 2)

    reminders_send(seven - MINUTE)
    assert not _reminders(appointment)

    reminders_send(seven + MINUTE)
    sent = _reminders(appointment)
    assert set(sent) == {f"reminder:{appointment.pk}:7d", f"reminder:{appointment.pk}:7d:email"}
    appointment.refresh_from_db()
    assert appointment.next_reminder_at == two and appointment.reminder_lease_until is None

    reminders_send(two + MINUTE)
    assert f"reminder:{appointment.pk}:2d" in _reminders(appointment)
    appointment.refresh_from_db()
    assert appointment.next_reminder_at is None
    assert all(m.expires_at == appointment.starts_at for m in _reminders(appointment).values())


def test_it_texts_one_link_and_e_mails_three(appointment):
    reminders_send(moment(appointment, 7) + MINUTE)

    sent = _reminders(appointment)
    text, mail = sent[f"reminder:{appointment.pk}:7d"], sent[f"reminder:{appointment.pk}:7d:email"]
    assert len(text.body) < 160 and text.body.startswith(f"{PRACTICE}: ")
    assert "orthopedics" not in text.body.lower() and "orthopedics" not in mail.subject.lower()
    assert len(re.findall(r"/p/[\w-]{22}/", text.body)) == 1
    assert len(re.findall(r"/p/[\w-]{22}/", mail.body)) == 3
    assert mail.subject == f"Reminder: your appointment with {PRACTICE}"


def test_it_never_queues_a_reminder_twice(appointment):
    at = moment(appointment, 7) + MINUTE
    reminders_send(at)
    reminders_send(at)
    # A scheduler that died after queueing, before moving the appointment on: the rerun finds
    # the messages already there.
    Appointment.objects.filter(pk=appointment.pk).update(next_reminder_at=moment(appointment, 7))
    reminders_send(at)

    assert OutboundMessage.objects.filter(purpose="reminder").count() == 2


def test_it_leaves_an_appointment_another_scheduler_has_claimed(appointment):
    at = moment(appointment, 7) + MINUTE
    assert rows_claim(
        Appointment.objects.filter(next_reminder_at__lte=at),
        now=at,
        lease_field="reminder_lease_until",
    ) == [appointment.pk]

    assert reminders_send(at) == 0
    assert not _reminders(appointment)
    # Its lease runs out: the next scheduler takes it.
    assert reminders_send(at + dt.timedelta(minutes=3)) == 1


def test_it_sends_only_the_latest_reminder_after_a_pause(appointment):
    reminders_send(moment(appointment, 2) + MINUTE)

    assert set(_reminders(appointment)) == {
        f"reminder:{appointment.pk}:2d",
        f"reminder:{appointment.pk}:2d:email",
    }


def test_it_reminds_no_one_of_a_cancelled_visit(appointment, scheduler):
    appointment_record_outcome(
        referral_id=appointment.referral_id, outcome="cancelled", actor=scheduler
    )

    reminders_send(moment(appointment, 7) + MINUTE)

    assert not _reminders(appointment)
    appointment.refresh_from_db()
    assert appointment.next_reminder_at is None


def test_it_reminds_at_ten_in_the_patients_own_time_zone(referral):
    factories.patient_reachable(referral, tz="America/Los_Angeles")
    appointment = factories.booked(referral, starts_at=local_day_at(10, 14, 0))
    appointment.refresh_from_db()

    assert appointment.next_reminder_at == moment(appointment, 7, "America/Los_Angeles")


def test_it_skips_a_reminder_due_right_after_booking(referral, line):
    line.reminder_days = "2, 1"
    line.save()
    factories.patient_reachable(referral)
    appointment = factories.booked(referral, starts_at=local_day_at(1, 16, 0))
    appointment.refresh_from_db()

    # Both moments (today and yesterday at 10:00) fall within a day of the instructions.
    assert appointment.next_reminder_at is None
