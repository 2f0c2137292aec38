"""End to end with a real FHIR client library (fhirpy) over real HTTP against the live server:
a referral placed by transaction, resent, sent as a BSeR message, refused, revoked."""

import json

import pytest
from django.test import override_settings
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from refloop.interop.fhir.models import FhirSubmission
from refloop.referrals.enums import State
from refloop.referrals.models import Referral
from tests import factories
from tests.fhir.test_bser_examples import completed_message
from tests.fhir.test_write_fixtures import referral_bundle, write_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session", autouse=True)
def _live_server_media_url(request):
    """Django's live server breaks on MEDIA_URL None (documents have no public URL): start it
    with a path no page links to, as tests/browser/conftest.py does."""
    from django.conf import settings

    before = settings.MEDIA_URL
    settings.MEDIA_URL = "/no-public-media/"
    try:
        request.getfixturevalue("live_server")
    finally:
        settings.MEDIA_URL = before


@pytest.fixture
def ehr(live_server):
    factories.service_line()
    api, key = write_client()
    return api, SyncFHIRClient(f"{live_server.url}/fhir/R4", authorization=f"Bearer {key}")


def test_it_places_resends_and_revokes_a_referral_with_fhirpy(ehr):
    api, fhir = ehr
    bundle = referral_bundle(placer="LIVE-1")
    answer = fhir.execute("/", method="post", data=bundle)
    location = answer["entry"][0]["response"]["location"]
    assert answer["entry"][0]["response"]["status"] == "201 Created"
    again = fhir.execute("/", method="post", data=bundle)
    assert again["entry"][0]["response"] == {
        **again["entry"][0]["response"],
        "status": "200 OK",
        "location": location,
    }
    referral = Referral.objects.get()
    assert location == f"ServiceRequest/{referral.pk}/_history/1"

    service_request = {
        **bundle["entry"][0]["resource"],
        "id": str(referral.pk),
        "status": "revoked",
    }
    said = fhir.execute(f"ServiceRequest/{referral.pk}", method="put", data=service_request)
    assert said["issue"][0]["severity"] == "information"
    referral.refresh_from_db()
    assert referral.state == State.CANCELLED
    outcomes = list(FhirSubmission.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["accepted", "duplicate", "accepted"]


def test_it_takes_a_bser_message_with_fhirpy(ehr):
    api, fhir = ehr
    with override_settings(REFLOOP_FHIR_DEFAULT_SERVICE_LINES={api.client_id: "orthopedics"}):
        answer = fhir.execute("$process-message", method="post", data=completed_message())
    header = answer["entry"][0]["resource"]
    assert header["response"]["code"] == "ok"
    assert header["focus"][0]["reference"] == f"Task/{Referral.objects.get().pk}"


def test_it_refuses_with_an_operation_outcome_fhirpy_understands(ehr):
    _, fhir = ehr
    bundle = referral_bundle()
    bundle["entry"][0]["resource"]["subject"] = {"reference": "Patient/elsewhere"}
    with pytest.raises(OperationOutcome) as refused:
        fhir.execute("/", method="post", data=bundle)
    issue = refused.value.resource["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].resource.subject"]
    kept = FhirSubmission.objects.get()
    assert kept.outcome == "rejected"
    assert json.loads(bytes(kept.body))["entry"][0]["resource"]["subject"] == {
        "reference": "Patient/elsewhere"
    }
    assert not Referral.objects.exists()


def test_it_hides_another_clients_referral(ehr, live_server):
    _, fhir = ehr
    fhir.execute("/", method="post", data=referral_bundle(placer="MINE"))
    referral = Referral.objects.get()
    _, other_key = write_client()
    other = SyncFHIRClient(f"{live_server.url}/fhir/R4", authorization=f"Bearer {other_key}")
    with pytest.raises(ResourceNotFound):
        other.execute(
            f"ServiceRequest/{referral.pk}",
            method="put",
            data={
                "resourceType": "ServiceRequest",
                "id": str(referral.pk),
                "status": "revoked",
                "intent": "order",
                "subject": {"reference": "Patient/1"},
            },
        )
    referral.refresh_from_db()
    assert referral.state == State.RECEIVED
