"""Fixtures and synthetic Bundles for the FHIR write tests (no tests here). The read stream's
tests/fhir/conftest.py brings `api_client` too; these are the same shape, so either serves."""

import base64
import io
import itertools
import json
import uuid

import pytest
from reportlab.pdfgen import canvas

from refloop.interop.fhir.inbound.mapping import NPI_SYSTEM, SERVICE_LINE_SYSTEM
from refloop.interop.fhir.models import ApiClient
from tests.fhir.conftest import make_api_client

_seq = itertools.count(1)
FHIR_JSON = "application/fhir+json"
PLACER_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.99999.1"


def write_client(*, organization=None) -> tuple[ApiClient, str]:
    return make_api_client(organization=organization)


@pytest.fixture
def writer(db):
    """(ApiClient, API key) for a referring organization."""
    return write_client()


@pytest.fixture
def other_writer(db):
    return write_client()


def pdf_bytes(text: str = "Referral letter") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def referral_bundle(
    *,
    placer: str | None = None,
    line_code: str = "orthopedics",
    npi: str = "",
    priority: str = "urgent",
    last_name: str | None = None,
    conditional: bool = True,
    document: bytes | None = None,
) -> dict:
    """A transaction Bundle as an EHR would send a referral: the ServiceRequest and, by
    urn:uuid, its Patient, Practitioner, PractitionerRole, Organization, Coverage, Condition and
    a DocumentReference with the letter inline."""
    placer = placer or f"PL-{uuid.uuid4().hex[:10]}"
    ids = {k: urn() for k in ("sr", "pat", "prac", "role", "org", "cov", "cond", "doc")}
    identifier = f"{PLACER_SYSTEM}|{placer}"
    sr_request = {"method": "POST", "url": "ServiceRequest"}
    if conditional:
        sr_request["ifNoneExist"] = f"identifier={identifier}"

    def entry(key, resource, request=None):
        return {
            "fullUrl": ids[key],
            "resource": resource,
            "request": request or {"method": "POST", "url": resource["resourceType"]},
        }

    practitioner = {
        "resourceType": "Practitioner",
        "name": [{"family": "Seven", "given": ["Henry"]}],
    }
    if npi:
        practitioner["identifier"] = [{"system": NPI_SYSTEM, "value": npi}]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(
                "sr",
                {
                    "resourceType": "ServiceRequest",
                    "identifier": [
                        {
                            "type": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                        "code": "PLAC",
                                    }
                                ]
                            },
                            "system": PLACER_SYSTEM,
                            "value": placer,
                        }
                    ],
                    "status": "active",
                    "intent": "order",
                    "priority": priority,
                    "category": [{"coding": [{"system": SERVICE_LINE_SYSTEM, "code": line_code}]}],
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "3457005",
                                "display": "Patient referral",
                            }
                        ]
                    },
                    "subject": {"reference": ids["pat"]},
                    "requester": {"reference": ids["role"]},
                    "reasonCode": [{"text": "Right knee pain for six months"}],
                    "reasonReference": [{"reference": ids["cond"]}],
                    "insurance": [{"reference": ids["cov"]}],
                    "supportingInfo": [{"reference": ids["doc"]}],
                    "note": [{"text": "Failed physiotherapy."}],
                    "authoredOn": "2026-11-20",
                },
                sr_request,
            ),
            entry(
                "pat",
                {
                    "resourceType": "Patient",
                    "name": [{"family": last_name or f"Testpatient{next(_seq)}", "given": ["Eve"]}],
                    "gender": "female",
                    "birthDate": "1974-11-24",
                    "telecom": [{"system": "phone", "value": "+15550100999"}],
                    "address": [
                        {
                            "line": ["5101 Peachtree St NE"],
                            "city": "Atlanta",
                            "state": "GA",
                            "postalCode": "30302",
                        }
                    ],
                },
            ),
            entry("prac", practitioner),
            entry(
                "role",
                {
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": ids["prac"]},
                    "organization": {"reference": ids["org"]},
                },
            ),
            entry("org", {"resourceType": "Organization", "name": "Birch Street Clinic"}),
            entry(
                "cov",
                {
                    "resourceType": "Coverage",
                    "status": "active",
                    "subscriberId": "MBR123",
                    "beneficiary": {"reference": ids["pat"]},
                    "payor": [{"display": "Acme Health"}],
                },
            ),
            entry(
                "cond",
                {
                    "resourceType": "Condition",
                    "subject": {"reference": ids["pat"]},
                    "code": {
                        "coding": [
                            {
                                "system": "http://hl7.org/fhir/sid/icd-10-cm",
                                "code": "M17.11",
                                "display": "Unilateral primary osteoarthritis, right knee",
                            }
                        ]
                    },
                },
            ),
            entry(
                "doc",
                {
                    "resourceType": "DocumentReference",
                    "status": "current",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
                    "subject": {"reference": ids["pat"]},
                    "content": [
                        {
                            "attachment": {
                                "contentType": "application/pdf",
                                "title": "Clinic notes",
                                "data": base64.b64encode(document or pdf_bytes()).decode(),
                            }
                        }
                    ],
                },
            ),
        ],
    }


def post(client, path: str, key: str, body, *, content_type: str = FHIR_JSON, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        f"/fhir/R4/{path}",
        data=data,
        content_type=content_type,
        headers={"Authorization": f"Bearer {key}", **headers},
    )
