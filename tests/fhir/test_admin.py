"""An admin registers a FHIR client; the key typed once works, and only its hash is kept."""

from django.urls import reverse

from refloop.interop.fhir.models import ApiClient
from tests import factories
from tests.web.helpers import sign_in


def test_it_registers_a_client_whose_key_then_works(client, admin_user):
    sign_in(client, admin_user)
    organization = factories.referrer().organizations.first()
    key = "k" * 30

    response = client.post(
        reverse("admin:fhir_apiclient_add"),
        {
            "name": "Birch EHR",
            "organization": organization.pk,
            "client_id": "birch-ehr",
            "scopes": "system/*.rs",
            "jwks": "{}",
            "active": "on",
            "new_api_key": key,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    stored = ApiClient.objects.get(client_id="birch-ehr")
    assert key not in stored.key_hash
    answer = client.get("/fhir/R4/ServiceRequest", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert answer.status_code == 200
