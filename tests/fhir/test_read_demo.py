"""The demo's FHIR client: made once, for a referring practice, reading with the README's key."""

import pytest

from refloop.interop.fhir.demo import DEMO_API_KEY, demo_clients
from refloop.interop.fhir.models import ApiClient
from tests import factories


@pytest.mark.django_db
def test_it_makes_one_demo_client_that_reads_with_the_known_key(client):
    referral = factories.referral()

    first = demo_clients()
    demo_clients()

    api = ApiClient.objects.get()
    assert api.organization_id == referral.referring_organization_id
    assert DEMO_API_KEY in first
    answer = client.get("/fhir/R4/ServiceRequest", HTTP_AUTHORIZATION=f"Bearer {DEMO_API_KEY}")
    assert answer.status_code == 200
    assert answer.json()["total"] == 1
