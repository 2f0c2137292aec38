"""Who is calling: an ApiClient, by API key or by an access token from the SMART token endpoint
(both as `Authorization: Bearer <credential>`, both kept hashed). The client carries `granted`:
the scopes this request may use (the token's, or the client's own for an API key)."""

from __future__ import annotations

import hashlib

from django.db.models import Q, Subquery
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
    # One query for either kind of credential (every request pays for it): the active client
    # whose access token or API key this is, with the token's scopes and expiry when a token.
    token = AccessToken.objects.filter(token_hash=digest)
    client = (
        ApiClient.objects.select_related("organization")
        .filter(Q(pk__in=token.values("client_id")) | (Q(key_hash=digest) & ~Q(key_hash="")))
        .filter(active=True)
        .annotate(
            token_scopes=Subquery(token.values("scopes")[:1]),
            token_expires_at=Subquery(token.values("expires_at")[:1]),
        )
        .first()
    )
    if client is None:
        raise Unauthenticated("Unknown or revoked credential.")
    if client.token_expires_at is None:
        client.granted = client.scopes
        return client
    if client.token_expires_at <= timezone.now():
        raise Unauthenticated("The access token has expired: ask the token endpoint again.")
    client.granted = client.token_scopes
    return client
