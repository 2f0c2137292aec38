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


@pytest.fixture
def fhir_base(live_server) -> str:
    return f"{live_server.url}/fhir/R4"


@pytest.fixture
def fhir(fhir_base, api_client):
    """A fhirpy SyncFHIRClient authenticated as `api_client`."""
    from fhirpy import SyncFHIRClient

    _, key = api_client
    return SyncFHIRClient(fhir_base, authorization=f"Bearer {key}")
