"""Two patients tapping "Take this time" at the same moment: exactly one gets the slot, the other
is told it was taken (not an error page)."""

import re

import pytest
from django.db import connection

from refloop.access.models import Appointment, WaitlistOffer
from refloop.access.services import waitlist_join, waitlist_offer_accept, waitlist_slot_freed
from refloop.core.errors import Gone
from refloop.messaging.models import OutboundMessage
from tests import factories
from tests.access.conftest import local_day_at
from tests.domain.test_concurrency import race

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_it_gives_a_slot_to_exactly_one_of_two_patients_accepting_at_once(line, intake, scheduler):
    early = factories.open_slot(line=line, starts_at=local_day_at(2, 9, 0))
    tokens = []
    for days in (20, 21):
        referral = factories.referral(line=line, actor=intake)
        factories.patient_reachable(referral, email=False)
        factories.booked(
            referral, slot=factories.open_slot(line=line, starts_at=local_day_at(days, 9, 0))
        )
        waitlist_join(referral_id=referral.pk, actor=scheduler)
    assert waitlist_slot_freed(slot_id=early.pk) == 2
    for offer in WaitlistOffer.objects.filter(slot=early):
        body = OutboundMessage.objects.get(dedupe_key=f"waitlist_offer:{offer.pk}").body
        tokens.append(re.search(r"/p/([\w-]+)/", body).group(1))

    results = race(*[lambda t=t: waitlist_offer_accept(token=t) for t in tokens])

    assert results.count("ok") == 1, results
    (lost,) = [r for r in results if r != "ok"]
    assert isinstance(lost, Gone) and "taken" in lost.message
    assert Appointment.objects.filter(slot=early, outcome="booked").count() == 1
