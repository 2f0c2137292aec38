"""SMART Backend Services against the running server: a client signs a JWT with its own RSA or
EC key, gets a short-lived access token for the scopes it asked (and was registered for), and
reads with it. Expired, replayed, wrongly addressed or wrongly signed assertions are refused."""

import datetime as dt
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fhirpy import SyncFHIRClient

from refloop.interop.fhir.models import AccessToken
from tests.fhir.conftest import client_referral, make_api_client, validate

pytestmark = pytest.mark.django_db(transaction=True)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _jwk(private_key, kid: str, alg: str) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS384" else jwt.algorithms.ECAlgorithm
    jwk = json.loads(algorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def smart_client(db, rsa_key):
    client, _ = make_api_client(
        scopes="system/ServiceRequest.rs system/Task.rs system/Patient.rs",
        jwks={"keys": [_jwk(rsa_key, "k1", "RS384")]},
    )
    return client


@pytest.fixture
def token_url(live_server):
    return f"{live_server.url}/fhir/R4/auth/token"


def assertion(client, key, token_url, *, alg="RS384", kid="k1", lifetime=240, **claims):
    now = int(time.time())
    body = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": token_url,
        "exp": now + lifetime,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def ask(token_url, signed, scope="system/ServiceRequest.rs system/Task.rs"):
    return requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            "scope": scope,
        },
        timeout=10,
    )


def test_it_finds_the_token_endpoint_in_the_smart_configuration(live_server, token_url):
    config = requests.get(f"{live_server.url}/fhir/R4/.well-known/smart-configuration", timeout=10)
    assert config.status_code == 200
    body = config.json()
    assert body["token_endpoint"] == token_url
    assert "client-confidential-asymmetric" in body["capabilities"]
    assert set(body["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}


def test_it_issues_a_token_that_reads_with_the_granted_scopes(
    live_server, smart_client, rsa_key, token_url
):
    referral = client_referral(smart_client)

    answer = ask(token_url, assertion(smart_client, rsa_key, token_url))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] <= 300
    assert body["scope"] == "system/ServiceRequest.rs system/Task.rs"
    # Only the hash is kept.
    assert not AccessToken.objects.filter(token_hash=body["access_token"]).exists()
    fhir = SyncFHIRClient(
        f"{live_server.url}/fhir/R4", authorization=f"Bearer {body['access_token']}"
    )
    validate(fhir.reference("ServiceRequest", str(referral.pk)).to_resource().serialize())
    # Patient was registered but not asked for: this token cannot read it.
    forbidden = requests.get(
        f"{live_server.url}/fhir/R4/Patient/{referral.patient_id}",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["issue"][0]["code"] == "forbidden"


def test_it_accepts_an_es384_signature(live_server, token_url):
    key = ec.generate_private_key(ec.SECP384R1())
    client, _ = make_api_client(jwks={"keys": [_jwk(key, "ec1", "ES384")]})

    answer = ask(token_url, assertion(client, key, token_url, alg="ES384", kid="ec1"))

    assert answer.status_code == 200, answer.text


def test_it_grants_only_scopes_the_client_was_registered_for(smart_client, rsa_key, token_url):
    answer = ask(
        token_url,
        assertion(smart_client, rsa_key, token_url),
        scope="system/ServiceRequest.cruds system/Task.rs",
    )
    assert answer.json()["scope"] == "system/Task.rs"

    refused = ask(
        token_url, assertion(smart_client, rsa_key, token_url), scope="system/Coverage.rs"
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"lifetime": -120}, "expired"),
        ({"lifetime": 900}, "five minutes"),
        ({"aud": "https://elsewhere.example/token"}, "aud"),
        ({"sub": "someone-else"}, "sub"),
        ({"iss": "no-such-client", "sub": "no-such-client"}, "Unknown client"),
        ({"alg": "HS256"}, "RS384"),
    ],
)
def test_it_refuses_a_bad_assertion(smart_client, rsa_key, token_url, change, problem):
    change = dict(change)
    alg = change.pop("alg", "RS384")
    key = "a-shared-secret-is-not-enough-here" if alg == "HS256" else rsa_key
    signed = assertion(smart_client, key, token_url, alg=alg, **change)

    answer = ask(token_url, signed)

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert problem in answer.json()["error_description"]
    assert not AccessToken.objects.exists()


def test_it_refuses_a_replayed_assertion(smart_client, rsa_key, token_url):
    signed = assertion(smart_client, rsa_key, token_url)

    assert ask(token_url, signed).status_code == 200
    replay = ask(token_url, signed)

    assert replay.status_code == 401
    assert "already used" in replay.json()["error_description"]
    assert AccessToken.objects.count() == 1


def test_it_refuses_an_assertion_signed_by_another_key(smart_client, token_url):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    answer = ask(token_url, assertion(smart_client, stranger, token_url))

    assert answer.status_code == 401
    assert "invalid" in answer.json()["error_description"]


def test_it_refuses_an_expired_access_token(live_server, smart_client, rsa_key, token_url):
    token = ask(token_url, assertion(smart_client, rsa_key, token_url)).json()["access_token"]
    AccessToken.objects.update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    answer = requests.get(
        f"{live_server.url}/fhir/R4/ServiceRequest",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert answer.status_code == 401
    assert "expired" in answer.json()["issue"][0]["diagnostics"]


def test_it_refuses_other_grant_types(token_url):
    answer = requests.post(token_url, data={"grant_type": "password"}, timeout=10)
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")


def test_it_accepts_the_configured_token_url_as_audience(
    settings, smart_client, rsa_key, token_url
):
    """Behind a proxy the URL the client knows (REFLOOP_BASE_URL) is not the one we see."""
    settings.REFLOOP_BASE_URL = "https://refloop.example.org"
    signed = assertion(
        smart_client, rsa_key, token_url, aud="https://refloop.example.org/fhir/R4/auth/token"
    )

    assert ask(token_url, signed).status_code == 200
