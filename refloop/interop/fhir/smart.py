"""SMART Backend Services (client credentials with a signed JWT, RFC 7523): the client signs an
assertion with its private key; we check it against the public keys it registered (ApiClient.jwks)
and answer with a short-lived opaque access token (see services.access_token_issue)."""

from __future__ import annotations

import datetime as dt

import jwt
from django.conf import settings
from django.utils import timezone

from refloop.interop.fhir.capability import SIGNING_ALGORITHMS
from refloop.interop.fhir.models import ApiClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = dt.timedelta(minutes=5)
TOKEN_LIFETIME = dt.timedelta(minutes=5)
CLOCK_SKEW = dt.timedelta(seconds=30)


class OAuthError(Exception):
    """An OAuth 2.0 error answer (RFC 6749 section 5.2): `error` code and a description."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def configured_token_url() -> str:
    return f"{settings.REFLOOP_BASE_URL.rstrip('/')}/fhir/R4/auth/token"


def assertion_check(*, assertion: str, token_url: str, now: dt.datetime | None = None):
    """The client and the claims of a valid assertion, or OAuthError saying what is wrong.
    iss = sub = client_id, aud = the token URL, exp at most five minutes ahead, signed RS384 or
    ES384 by a key in the client's JWKS (matched by kid when the header names one)."""
    now = now or timezone.now()
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise OAuthError("invalid_client", f"The client assertion is not a JWT: {error}.") from None
    if header.get("alg") not in SIGNING_ALGORITHMS:
        raise OAuthError(
            "invalid_client", f"Sign the assertion with {' or '.join(SIGNING_ALGORITHMS)}."
        )
    client_id = unverified.get("iss")
    client = (
        ApiClient.objects.select_related("organization")
        .filter(client_id=client_id or "", active=True)
        .first()
    )
    if client is None:
        raise OAuthError("invalid_client", "Unknown client (iss).")
    if unverified.get("sub") != client_id:
        raise OAuthError("invalid_client", "sub must equal iss (the client_id).")
    key = _signing_key(client, header)
    try:
        claims = jwt.decode(
            assertion,
            key=key,
            algorithms=list(SIGNING_ALGORITHMS),
            # As the client reached us, or as configured (behind a proxy the two can differ).
            audience=[token_url, configured_token_url()],
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            leeway=CLOCK_SKEW,
        )
    except jwt.InvalidAudienceError:
        raise OAuthError("invalid_client", f"aud must be the token URL {token_url}.") from None
    except jwt.ExpiredSignatureError:
        raise OAuthError("invalid_client", "The client assertion has expired.") from None
    except jwt.PyJWTError as error:
        raise OAuthError("invalid_client", f"The client assertion is invalid: {error}.") from None
    expires = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    if expires > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        raise OAuthError("invalid_client", "exp may be at most five minutes in the future.")
    return client, claims, expires


def _signing_key(client: ApiClient, header: dict):
    keys = (client.jwks or {}).get("keys") or []
    if not keys:
        raise OAuthError("invalid_client", "The client has no registered public keys (JWKS).")
    try:
        jwk_set = jwt.PyJWKSet.from_dict({"keys": keys})
    except jwt.PyJWTError as error:
        raise OAuthError("invalid_client", f"The client's JWKS is unusable: {error}.") from None
    kid = header.get("kid")
    candidates = [k for k in jwk_set.keys if kid is None or k.key_id == kid]
    kty = "RSA" if header["alg"].startswith("RS") else "EC"
    candidates = [k for k in candidates if k.key_type == kty]
    if not candidates:
        raise OAuthError("invalid_client", f"No registered {kty} key has kid {kid!r}.")
    # The raw key: the header's algorithm applies (a JWK without "alg" would default to *256).
    return candidates[0].key
