"""Who is calling: an ApiClient, by API key (`Authorization: Bearer <key>`, kept hashed).
SMART Backend Services (a signed JWT exchanged for an access token) is added beside it."""

from __future__ import annotations

import hashlib

from refloop.core.errors import DomainError
from refloop.interop.fhir.models import ApiClient


class Unauthenticated(DomainError):
    status = 401
    code = "login"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def client_authenticate(request) -> ApiClient:
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Send an API key or access token as 'Authorization: Bearer ...'.")
    client = (
        ApiClient.objects.select_related("organization")
        .filter(key_hash=key_hash(credential.strip()), active=True)
        .first()
    )
    if client is None:
        raise Unauthenticated("Unknown or revoked credential.")
    return client
