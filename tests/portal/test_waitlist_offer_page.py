import re
from urllib.parse import urlsplit

from django.conf import settings

from refloop.access.models import Appointment, Authorization, AuthorizationStatus, WaitlistOffer
from refloop.access.services import waitlist_join, waitlist_slot_freed
from refloop.messaging.models import OutboundMessage
from tests import factories
from tests.access.conftest import local_day_at


def test_the_first_patient_to_tap_gets_the_slot_and_the_next_is_told_it_was_taken(
    client, line, intake, scheduler
):
    early = factories.open_slot(line=line, starts_at=local_day_at(2, 8, 15))
    waiting = []
    for days in (20, 21):
        referral = factories.referral(line=line, actor=intake)
        factories.patient_reachable(referral, sms=False)
        factories.booked(
            referral, slot=factories.open_slot(line=line, starts_at=local_day_at(days, 9, 0))
        )
        waitlist_join(referral_id=referral.pk, actor=scheduler)
        waiting.append(referral)
    waitlist_slot_freed(slot_id=early.pk)
    urls = [
        urlsplit(
            re.search(
                r"http\S+/p/[\w-]+/",
                OutboundMessage.objects.get(purpose="waitlist_offer", referral=r).body,
            ).group(0)
        ).path
        for r in waiting
    ]

    page = client.get(urls[1]).content.decode()
    assert "8:15 AM" in page and "Take this time" in page and settings.REFLOOP_PRACTICE_NAME in page
    assert waiting[1].patient.last_name not in page

    taken = client.post(urls[1])
    assert taken.status_code == 200 and "yours" in taken.content.decode()
    assert Appointment.objects.get(referral=waiting[1], outcome="booked").slot == early

    late = client.post(urls[0])
    assert late.status_code == 410 and "Sorry, that time was taken" in late.content.decode()
    assert WaitlistOffer.objects.get(slot=early, entry__referral=waiting[0]).status == (
        "taken_by_other"
    )


def test_a_patient_whose_authorization_does_not_cover_the_time_is_asked_to_call(
    client, line, intake, scheduler
):
    early = factories.open_slot(line=line, starts_at=local_day_at(2, 8, 15))
    referral = factories.referral(line=line, actor=intake)
    factories.patient_reachable(referral, sms=False)
    later = factories.open_slot(line=line, starts_at=local_day_at(20, 9, 0))
    factories.booked(referral, slot=later)
    waitlist_join(referral_id=referral.pk, actor=scheduler)
    waitlist_slot_freed(slot_id=early.pk)
    body = OutboundMessage.objects.get(purpose="waitlist_offer", referral=referral).body
    url = urlsplit(re.search(r"http\S+/p/[\w-]+/", body).group(0)).path
    # Approved meanwhile, for the booked visit's day only.
    Authorization.objects.create(
        referral=referral,
        status=AuthorizationStatus.APPROVED,
        number="PA-2",
        valid_from=local_day_at(20, 9, 0).date(),
        valid_to=local_day_at(20, 9, 0).date(),
        created_at=referral.received_at,
    )

    answer = client.post(url)

    assert answer.status_code == 400
    assert "Please call us to take this time" in answer.content.decode()
    assert Appointment.objects.get(referral=referral, outcome="booked").slot == later
