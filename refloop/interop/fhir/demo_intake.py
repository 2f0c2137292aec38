"""Demo: an EHR places referrals through the FHIR API, over the real entry point (Django's test
Client, the same URL, auth and views a real client reaches): one transaction Bundle, one
BSeR-style message Bundle, then the transaction sent again to show a resend changes nothing.
Synthetic people only."""

from __future__ import annotations

import base64
import io
import json
import uuid

from django.conf import settings
from django.test import Client
from reportlab.pdfgen import canvas

from refloop.directory.models import Clinician, ServiceLine
from refloop.interop.fhir.demo import DEMO_API_KEY as DEMO_KEY
from refloop.interop.fhir.demo import DEMO_CLIENT_ID, demo_clients
from refloop.interop.fhir.inbound.mapping import NPI_SYSTEM, SERVICE_LINE_SYSTEM
from refloop.interop.fhir.models import ApiClient
from refloop.referrals.models import Referral

PLACER = "urn:oid:2.16.840.1.113883.19.5.99999.7"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def demo_client() -> ApiClient:
    demo_clients()
    return ApiClient.objects.get(client_id=DEMO_CLIENT_ID)


def _pdf(text: str) -> str:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.drawString(72, 700, "Synthetic demo document.")
    page.save()
    return base64.b64encode(out.getvalue()).decode()


def _resources(*, placer: str, line: ServiceLine, npi: str, patient: dict, reason: str) -> dict:
    """The referral's resources by urn:uuid: ServiceRequest, Patient, Practitioner(Role),
    Coverage, Condition and the referral letter."""
    ids = {k: f"urn:uuid:{uuid.uuid4()}" for k in ("sr", "pat", "pr", "role", "cov", "doc")}
    practitioner = {
        "resourceType": "Practitioner",
        "name": [{"family": "Okafor", "given": ["Grace"]}],
    }
    if npi:
        practitioner["identifier"] = [{"system": NPI_SYSTEM, "value": npi}]
    return {
        "ids": ids,
        "sr": {
            "resourceType": "ServiceRequest",
            "identifier": [
                {
                    "type": {"coding": [{"system": V2_0203, "code": "PLAC"}]},
                    "system": PLACER,
                    "value": placer,
                }
            ],
            "status": "active",
            "intent": "order",
            "priority": "urgent",
            "category": [
                {
                    "coding": [
                        {"system": SERVICE_LINE_SYSTEM, "code": line.code, "display": line.name}
                    ]
                }
            ],
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
            "reasonCode": [{"text": reason}],
            "insurance": [{"reference": ids["cov"]}],
            "supportingInfo": [{"reference": ids["doc"]}],
        },
        "pat": {"resourceType": "Patient", **patient},
        "pr": practitioner,
        "role": {"resourceType": "PractitionerRole", "practitioner": {"reference": ids["pr"]}},
        "cov": {
            "resourceType": "Coverage",
            "status": "active",
            "subscriberId": "DEMO-55821",
            "beneficiary": {"reference": ids["pat"]},
            "payor": [{"display": "Acme Health"}],
        },
        "doc": {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {
                "coding": [
                    {"system": "http://loinc.org", "code": "57133-1", "display": "Referral note"}
                ]
            },
            "subject": {"reference": ids["pat"]},
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "title": "Referral letter",
                        "data": _pdf(f"Referral letter: {reason}"),
                    }
                }
            ],
        },
    }


def transaction_bundle(**kwargs) -> dict:
    parts = _resources(**kwargs)
    ids = parts.pop("ids")
    placer = parts["sr"]["identifier"][0]["value"]
    entries = []
    for key, resource in parts.items():
        request = {"method": "POST", "url": resource["resourceType"]}
        if key == "sr":
            request["ifNoneExist"] = f"identifier={PLACER}|{placer}"
        entries.append({"fullUrl": ids[key], "resource": resource, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def message_bundle(**kwargs) -> dict:
    """BSeR's shape: MessageHeader (event v2-0003#I12) -> Task (requested) -> ServiceRequest."""
    parts = _resources(**kwargs)
    ids = parts.pop("ids")
    header_id, task_id = str(uuid.uuid4()), f"urn:uuid:{uuid.uuid4()}"
    header = {
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0003",
            "code": "I12",
            "display": "REF/RRI - Patient referral",
        },
        "source": {"name": "Birch Street Clinic EHR", "endpoint": "https://ehr.birch.example"},
        "sender": {"reference": ids["role"]},
        "focus": [{"reference": task_id}],
    }
    task = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "focus": {"reference": ids["sr"]},
        "for": {"reference": ids["pat"]},
    }
    entries = [
        {"fullUrl": f"urn:uuid:{header_id}", "resource": header},
        {"fullUrl": task_id, "resource": task},
    ]
    entries += [{"fullUrl": ids[key], "resource": r} for key, r in parts.items()]
    return {"resourceType": "Bundle", "type": "message", "entry": entries}


def demo_receive() -> str:
    client = demo_client()
    line = ServiceLine.objects.filter(active=True).order_by("pk").first()
    if line is None:
        return "FHIR: no active service line; nothing sent."
    referrers = Clinician.objects.exclude(npi=None).exclude(npi="").order_by("pk")
    npi = (
        referrers.filter(roles__organization=client.organization)
        .values_list("npi", flat=True)
        .first()
        or referrers.filter(roles__organization__kind="referring_practice")
        .values_list("npi", flat=True)
        .first()
        or ""
    )
    http = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip("."))
    headers = {"Authorization": f"Bearer {DEMO_KEY}"}
    stamp = uuid.uuid4().hex[:6].upper()

    def post(path: str, body: dict) -> dict:
        response = http.post(
            f"/fhir/R4/{path}",
            data=json.dumps(body),
            content_type="application/fhir+json",
            headers=headers,
        )
        answer = response.json()
        if response.status_code != 200:
            raise RuntimeError(f"FHIR demo refused ({response.status_code}): {answer}")
        return answer

    placed = transaction_bundle(
        placer=f"BIRCH-{stamp}-1",
        line=line,
        npi=npi,
        reason="Persistent right knee pain, effusion after a fall; MRI requested",
        patient={
            "name": [{"family": "Lindqvist", "given": ["Maren"]}],
            "gender": "female",
            "birthDate": "1968-04-12",
            "telecom": [{"system": "phone", "value": "+15550142211"}],
        },
    )
    first = post("", placed)["entry"][0]["response"]
    message = post(
        "$process-message",
        message_bundle(
            placer=f"BIRCH-{stamp}-2",
            line=line,
            npi="",
            reason="Recurrent shoulder dislocation",
            patient={
                "name": [{"family": "Abara", "given": ["Tobi"]}],
                "gender": "male",
                "birthDate": "1991-09-30",
            },
        ),
    )
    task = message["entry"][0]["resource"]["focus"][0]["reference"]
    again = post("", placed)["entry"][0]["response"]
    same = again["location"] == first["location"] and again["status"] == "200 OK"
    by_bundle, by_message = (
        Referral.objects.get(pk=reference.split("/")[1]).number
        for reference in (first["location"], task)
    )
    return (
        f"FHIR: {by_bundle} by transaction Bundle, {by_message} by BSeR message; resend "
        f"answered {'with the same id, nothing new' if same else 'DIFFERENTLY (check!)'}."
    )
