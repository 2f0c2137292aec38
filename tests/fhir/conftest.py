"""FHIR API fixtures shared by the read and write tests: an API client for a referring
organization (with its plain key), and a fhirpy client talking to the live server."""

import itertools
import secrets

import pytest

from refloop.directory.models import Organization
from refloop.interop.fhir.auth import key_hash
from refloop.interop.fhir.models import ApiClient

_seq = itertools.count(1)


def make_api_client(
    *, organization: Organization | None = None, scopes: str = "system/*.cruds", jwks=None
) -> tuple[ApiClient, str]:
    """An active ApiClient and its API key (the key is only ever known here, hashed in the row)."""
    n = next(_seq)
    organization = organization or Organization.objects.create(
        name=f"Birch Street Clinic {n}", kind="referring_practice"
    )
    key = secrets.token_urlsafe(24)
    client = ApiClient.objects.create(
        name=f"Birch EHR {n}",
        organization=organization,
        client_id=f"birch-ehr-{n}",
        key_hash=key_hash(key),
        scopes=scopes,
        jwks=jwks or {},
    )
    return client, key


@pytest.fixture
def api_client(db) -> tuple[ApiClient, str]:
    """(ApiClient, API key) for a fresh referring organization, all scopes."""
    return make_api_client()


@pytest.fixture
def other_api_client(db) -> tuple[ApiClient, str]:
    """A second client of another organization: must never see the first one's data."""
    return make_api_client()


@pytest.fixture(scope="session", autouse=True)
def _live_server_without_media_url(request):
    """Start the live server with a MEDIA_URL for its test-only media handler, then put it back
    (as tests/browser/conftest.py does: the handler breaks on MEDIA_URL None). Documents still
    go out only through the API's own scoped, logged Binary read."""
    from django.conf import settings

    before = settings.MEDIA_URL
    settings.MEDIA_URL = "/no-public-media/"
    try:
        request.getfixturevalue("live_server")
    finally:
        settings.MEDIA_URL = before


@pytest.fixture
def fhir_base(live_server) -> str:
    return f"{live_server.url}/fhir/R4"


@pytest.fixture
def fhir(fhir_base, api_client):
    """A fhirpy SyncFHIRClient authenticated as `api_client`."""
    from fhirpy import SyncFHIRClient

    _, key = api_client
    return SyncFHIRClient(fhir_base, authorization=f"Bearer {key}")


def client_referral(client: ApiClient, *, reference: str | None = None, **kwargs):
    """A referral sent by `client`'s organization (a clinician there), through referral_receive
    as the FHIR channel would: sender_system is the client's id, sender_reference its own."""
    import dataclasses

    from refloop.directory.models import ClinicianRole, ServiceLine
    from refloop.referrals.enums import Channel
    from refloop.referrals.services import ReferrerData, referral_receive
    from tests import factories

    line = ServiceLine.objects.first() or factories.service_line()
    clinician = factories.referrer()
    ClinicianRole.objects.create(clinician=clinician, organization=client.organization)
    submission = factories.submission(line=line, clinician=clinician, **kwargs)
    submission = dataclasses.replace(
        submission,
        referrer=ReferrerData(
            npi=clinician.npi, clinician_id=clinician.pk, organization_id=client.organization_id
        ),
        channel=Channel.FHIR,
        sender_system=client.client_id,
        sender_reference=reference or f"SR-{next(_seq)}",
    )
    return referral_receive(submission=submission, actor=None).referral


def validate(resource: dict):
    """Parse `resource` with fhir.resources' R4B model of its type (raises when invalid)."""
    from fhir.resources.R4B import get_fhir_model_class

    data = dict(resource)
    return get_fhir_model_class(data["resourceType"]).model_validate(data)
