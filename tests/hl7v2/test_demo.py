"""The demo hook: a referral and a booking from a partner EHR through the real MLLP listener."""

import pytest

from refloop.access.models import Appointment
from refloop.interop.hl7v2.demo import demo_receive
from refloop.interop.hl7v2.models import Hl7Message
from refloop.referrals.enums import Channel, State
from refloop.referrals.models import Referral
from tests import factories
from tests.hl7v2.conftest import accept

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_receives_a_referral_and_a_booking_over_mllp(line, clinician):
    waiting = factories.referral(line=line, clinician=clinician)
    accept(waiting)
    summary = demo_receive()
    assert summary.count("AA (") == 2, summary
    new = Referral.objects.get(channel=Channel.HL7)
    assert new.referring_clinician == Referral.objects.get(pk=waiting.pk).referring_clinician
    assert new.diagnoses == ["I48.91"] and new.priority == "urgent"
    waiting.refresh_from_db()
    assert waiting.state == State.SCHEDULED
    assert waiting.appointments.get().outcome == Appointment.Outcome.BOOKED
    assert Hl7Message.objects.filter(status=Hl7Message.Status.PROCESSED).count() == 2


@pytest.mark.django_db(transaction=False)
def test_it_still_receives_inside_a_transaction(line, clinician):
    summary = demo_receive()
    assert "AA (Referral R-" in summary and "entry point" in summary
    assert Referral.objects.filter(channel=Channel.HL7).count() == 1
