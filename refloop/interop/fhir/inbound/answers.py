"""What we answer a write with: a transaction-response Bundle, a message response Bundle, an
OperationOutcome. Our ids are the read side's (resources/__init__.py): ServiceRequest/<referral
pk> and Task/<referral pk>, Patient/<pk>, DocumentReference/<document pk>."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils import timezone

from refloop.interop.fhir.inbound.mapping import NPI_SYSTEM
from refloop.interop.fhir.inbound.problems import Issue


def referral_id(referral) -> str:
    return str(referral.pk)


def service_request_location(referral) -> str:
    return f"ServiceRequest/{referral_id(referral)}/_history/1"


def task_location(referral) -> str:
    return f"Task/{referral_id(referral)}"


def outcome_resource(issues: list[Issue], *, severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": issue.code,
                "diagnostics": issue.diagnostics,
                **({"expression": [issue.expression]} if issue.expression else {}),
            }
            for issue in issues
        ],
    }


def _informational(text: str) -> dict:
    return outcome_resource([Issue(code="informational", diagnostics=text)], severity="information")


def _instant(moment) -> str:
    return moment.isoformat(timespec="milliseconds")


def transaction_response(*, bundle, received) -> dict:
    """One response entry per request entry, in order (FHIR transaction rules)."""
    referral = received.referral
    status = "201 Created" if received.created else "200 OK"
    documents = iter(received.document_ids)
    entries = []
    for entry in bundle.entry or ():
        kind = entry.resource.get_resource_type()
        response: dict = {"status": "200 OK"}
        if kind == "ServiceRequest":
            response = {
                "status": status,
                "location": service_request_location(referral),
                "etag": 'W/"1"',
                "lastModified": _instant(referral.created_at),
                "outcome": _informational(
                    f"Referral {referral.number} "
                    f"{'received' if received.created else 'already received (resend)'}; "
                    f"follow it at {task_location(referral)}."
                ),
            }
        elif kind == "Patient":
            response["location"] = f"Patient/{referral.patient_id}"
        elif kind == "Practitioner" and _is_referrer(entry.resource, referral):
            response["location"] = f"Practitioner/{referral.referring_clinician_id}"
        elif kind in ("DocumentReference", "Binary") and received.created:
            count = len(entry.resource.content or ()) if kind == "DocumentReference" else 1
            ids = [next(documents, None) for _ in range(count)]
            if ids and ids[0]:
                response = {"status": "201 Created", "location": f"DocumentReference/{ids[0]}"}
        else:
            response["outcome"] = _informational(f"Kept with referral {referral.number}.")
        entries.append({"response": response})
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "transaction-response",
        "entry": entries,
    }


def _is_referrer(practitioner, referral) -> bool:
    """The Practitioner the referral's referring clinician was matched from (by NPI)."""
    if referral.referring_clinician_id is None:
        return False
    npis = {i.value for i in practitioner.identifier or () if i.system == NPI_SYSTEM}
    return referral.referring_clinician.npi in npis


def message_response(*, header, received, unread: list[str]) -> dict:
    """The response message: a MessageHeader answering the request's, its focus our Task; and
    what the message carried that the referral does not use, said out loud (it stays kept as
    sent with the submission)."""
    referral = received.referral
    said = received.said or (
        f"Referral {referral.number} "
        + ("received." if received.created else "already received (resend).")
    )
    issues = [Issue(code="informational", diagnostics=said)]
    if unread:
        issues.append(
            Issue(
                code="informational",
                diagnostics="Kept as sent but not read into the referral: "
                + ", ".join(unread)
                + ".",
            )
        )
    now = timezone.now()
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": _instant(now),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "MessageHeader",
                    "eventCoding": {
                        "system": header.eventCoding.system,
                        "code": header.eventCoding.code,
                    },
                    "source": {"endpoint": f"{settings.REFLOOP_BASE_URL}/fhir/R4"},
                    "response": {"identifier": header.id or "unidentified", "code": "ok"},
                    "focus": [
                        {"reference": task_location(referral)},
                        {"reference": f"ServiceRequest/{referral_id(referral)}"},
                    ],
                },
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": outcome_resource(issues, severity="information"),
            },
        ],
    }
