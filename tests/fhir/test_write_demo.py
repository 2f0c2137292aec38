"""The demo hook places referrals through the real FHIR entry point and shows a resend."""

from refloop.interop.fhir.demo_intake import DEMO_CLIENT_ID, demo_receive
from refloop.interop.fhir.models import FhirSubmission
from refloop.referrals.enums import Channel
from refloop.referrals.models import Referral
from tests import factories


def test_it_receives_a_transaction_and_a_message_and_a_resend(db):
    factories.service_line()
    known = factories.referrer()
    summary = demo_receive()
    referrals = list(Referral.objects.order_by("pk"))
    assert len(referrals) == 2
    assert {r.channel for r in referrals} == {Channel.FHIR}
    assert summary == (
        f"FHIR: {referrals[0].number} by transaction Bundle, {referrals[1].number} by BSeR "
        "message; resend answered with the same id, nothing new."
    )
    assert referrals[0].referring_clinician == known
    assert referrals[0].documents.get().kind == "referral_letter"
    outcomes = FhirSubmission.objects.order_by("pk").values_list("outcome", flat=True)
    assert list(outcomes) == ["accepted", "accepted", "duplicate"]
    assert {s.client.client_id for s in FhirSubmission.objects.all()} == {DEMO_CLIENT_ID}
    demo_receive()  # again: the client and its key are reused
    assert Referral.objects.count() == 4
