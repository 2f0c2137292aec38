"""Demo only: one FHIR client for a referring practice of the demo data, with a known API key
for the README. Never used outside the demo (the key is public)."""

from __future__ import annotations

from django.db.models import Count

from refloop.directory.enums import OrganizationKind
from refloop.directory.models import Organization
from refloop.interop.fhir.auth import key_hash
from refloop.interop.fhir.models import ApiClient

DEMO_CLIENT_ID = "demo-ehr"
DEMO_API_KEY = "demo-fhir-key"


def demo_clients() -> str:
    """Create (or find) the demo client, for the referring practice with the most referrals, so
    its searches show something at once. Returns a one-line summary with the key to use."""
    organization = (
        Organization.objects.filter(kind=OrganizationKind.REFERRING_PRACTICE)
        .annotate(sent=Count("referrals_sent"))
        .order_by("-sent", "pk")
        .first()
    )
    if organization is None:
        organization = Organization.objects.create(
            name="Cedar Valley Family Medicine", kind=OrganizationKind.REFERRING_PRACTICE
        )
    client, _ = ApiClient.objects.update_or_create(
        client_id=DEMO_CLIENT_ID,
        defaults={
            "name": f"{organization.name} EHR (demo)",
            "organization": organization,
            "key_hash": key_hash(DEMO_API_KEY),
            "scopes": "system/*.cruds",
            "active": True,
        },
    )
    return (
        f"FHIR client '{client.client_id}' for {organization.name}: "
        f"curl -H 'Authorization: Bearer {DEMO_API_KEY}' <base>/fhir/R4/ServiceRequest"
    )
