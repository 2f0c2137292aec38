"""Who is calling: an ApiClient, by API key or by an access token from the SMART token endpoint
(both as `Authorization: Bearer <credential>`, both kept hashed). The client carries `granted`:
the scopes this request may use (the token's, or the client's own for an API key)."""

from __future__ import annotations

import hashlib

from django.utils import timezone

from refloop.core.errors import DomainError
from refloop.interop.fhir.models import AccessToken, ApiClient


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
    digest = key_hash(credential.strip())
    token = (
        AccessToken.objects.select_related("client__organization")
        .filter(token_hash=digest, client__active=True)
        .first()
    )
    if token is not None:
        if token.expires_at <= timezone.now():
            raise Unauthenticated("The access token has expired: ask the token endpoint again.")
        client = token.client
        client.granted = token.scopes
        return client
    client = (
        ApiClient.objects.select_related("organization")
        .filter(key_hash=digest, active=True)
        .exclude(key_hash="")
        .first()
    )
    if client is None:
        raise Unauthenticated("Unknown or revoked credential.")
    client.granted = client.scopes
    return client
