import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refloop.access.models import PatientLink, WaitlistOffer
from refloop.access.services import patient_link_make, waitlist_join
from refloop.messaging.services import message_queue
from tests import factories
from tests.access.conftest import local_day_at
from tests.web.helpers import sign_in


def _page(client, referral) -> str:
    return client.get(f"/referrals/{referral.pk}/").content.decode()


def test_it_lets_a_scheduler_put_a_patient_on_the_waitlist_and_take_them_off(
    client, referral, scheduler, line
):
    factories.booked(referral, slot=factories.open_slot(line=line, starts_at=local_day_at(20, 9)))
    sign_in(client, scheduler)
    assert "Not on the waitlist" in _page(client, referral) and "Join waitlist" in _page(
        client, referral
    )
    referral.refresh_from_db()

    client.post(
        f"/referrals/{referral.pk}/do/waitlist_join/",
        {"waitlist_join-version": referral.version, "waitlist_join-wants_before": "2099-01-01"},
    )
    page = _page(client, referral)
    assert "On the waitlist for an earlier new consult" in page and "2099-01-01" in page
    assert "Leave waitlist" in page and "Join waitlist" not in page

    client.post(
        f"/referrals/{referral.pk}/do/waitlist_leave/",
        {"waitlist_leave-version": referral.version},
    )
    assert "Left the waitlist" in _page(client, referral)


def test_it_shows_what_the_patient_was_sent_and_did(client, referral, scheduler):
    factories.patient_reachable(referral)
    appointment = factories.booked(referral, starts_at=local_day_at(20, 9))
    PatientLink.objects.update(used_at=timezone.now(), used_for="confirm")
    sign_in(client, scheduler)

    page = _page(client, referral)

    assert "Visit instructions" in page and "Text message" in page and "E-mail" in page
    assert "confirmed the visit" in page
    assert appointment.starts_at.astimezone().strftime("%Y-%m-%d %H:%M") in page


def _busy(referral, line, scheduler, n: int) -> None:
    """A referral with `n` messages, used links and waitlist offers."""
    factories.patient_reachable(referral, email=False)
    appointment = factories.booked(
        referral, slot=factories.open_slot(line=line, starts_at=local_day_at(40, 9))
    )
    entry = waitlist_join(referral_id=referral.pk, actor=scheduler)
    for i in range(n):
        message_queue(
            audience="patient",
            purpose="reminder",
            channel="sms",
            to_address="+15550100123",
            body=f"Riverside Specialty Care: reminder {i}.",
            referral_id=referral.pk,
            dedupe_key=f"test:{referral.pk}:{i}",
        )
        patient_link_make(
            appointment_id=appointment.pk, purpose="confirm", expires_at=appointment.starts_at
        )
        slot = factories.open_slot(line=line, starts_at=local_day_at(3, 8) + dt.timedelta(hours=i))
        WaitlistOffer.objects.create(
            slot=slot, entry=entry, offered_at=timezone.now(), expires_at=timezone.now()
        )
    PatientLink.objects.filter(appointment=appointment).update(
        used_at=timezone.now(), used_for="confirm"
    )


def test_the_section_costs_the_same_queries_for_one_row_and_fifty(client, line, intake, scheduler):
    small, large = (factories.referral(line=line, actor=intake) for _ in range(2))
    _busy(small, line, scheduler, 1)
    _busy(large, line, scheduler, 50)
    sign_in(client, scheduler)
    _page(client, small)

    counts = []
    for referral in (small, large):
        with CaptureQueriesContext(connection) as queries:
            page = _page(client, referral)
        counts.append(len(queries))
    assert page.count("Offered ") == 50
    assert counts[0] == counts[1]
