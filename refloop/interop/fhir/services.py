"""Writes of the FHIR app's own tables: SMART access tokens and the assertion ids they used."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from refloop.interop.fhir.auth import key_hash
from refloop.interop.fhir.models import AccessToken, ApiClient, ClientAssertionUse
from refloop.interop.fhir.scopes import scopes_grant
from refloop.interop.fhir.smart import TOKEN_LIFETIME, OAuthError


def access_token_issue(
    *, client: ApiClient, jti: str, assertion_expires: dt.datetime, scope: str
) -> tuple[str, str]:
    """A new opaque access token and the scopes it grants, once per assertion: a replayed jti is
    refused (the used one is kept until its assertion expires, then purged)."""
    granted = scopes_grant(requested=scope, allowed=client.scopes)
    if not granted:
        raise OAuthError("invalid_scope", "None of the requested scopes is granted to this client.")
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            ClientAssertionUse.objects.create(client=client, jti=jti, expires_at=assertion_expires)
            AccessToken.objects.create(
                client=client,
                token_hash=key_hash(token),
                scopes=granted,
                issued_at=now,
                expires_at=now + TOKEN_LIFETIME,
            )
    except IntegrityError:
        raise OAuthError(
            "invalid_client", "This client assertion (jti) was already used."
        ) from None
    _expired_purge(now)
    return token, granted


def _expired_purge(now: dt.datetime) -> None:
    # Kept small without a job: each issue removes what expired a while ago (indexed reads).
    cutoff = now - dt.timedelta(minutes=10)
    ClientAssertionUse.objects.filter(expires_at__lt=cutoff).delete()
    AccessToken.objects.filter(expires_at__lt=cutoff).delete()
