"""The referral twice: as the ServiceRequest the placer sent (it changes only when the placer
revises or revokes it, and when the referral completes) and as our Task on it (every state
change, with the BSeR business status of DESIGN.md's table)."""

from __future__ import annotations

from django.conf import settings

from refloop.interop.fhir.resources import (
    BSER_BUSINESS_STATUS_SYSTEM,
    ICD10CM_SYSTEM,
    IDENTIFIER_TYPE_SYSTEM,
    OUTCOME_REASON_SYSTEM,
    REFERRAL_NUMBER_SYSTEM,
    SNOMED_SYSTEM,
    Context,
    compact,
    instant,
    meta,
    ref,
)
from refloop.referrals.enums import FHIR_TASK_STATUS, REASONS_FOR, CancelReason, State
from refloop.referrals.models import Referral

# TaskBusinessStatusCS displays, as published (BSeR STU2, spelling included).
BUSINESS_STATUS_DISPLAY = {
    "2.0": "Service Request Created",
    "3.0": "Service Request Accepted",
    "4.0": "Service Request Declined",
    "5.1.1": "Serivce Request Event Scheduled",
    "5.1.2": "Scheduled Service Request Event Unattended",
    "5.1.3": "Scheduled Service Request Event Cancelled",
    "5.1.4": "Service Request Event Completed",
    "6.0": "Service Request Fulfillment Cancelled",
    "7.0": "Service Request Fulfillment Completed",
}
COMPLETED_STATES = (State.COMPLETED, State.CLOSED)


def service_request_status(state: str, outcome_reason: str) -> str:
    """revoked when the placer withdrew it, completed once the patient was seen, else active: a
    decline or our cancellation is ours to say, on the Task, not a change of the request."""
    if state == State.CANCELLED and outcome_reason == CancelReason.REFERRER_WITHDREW:
        return "revoked"
    if state in COMPLETED_STATES:
        return "completed"
    return "active"


def requester(referral: Referral, ctx: Context) -> dict | None:
    clinician, org = referral.referring_clinician_id, referral.referring_organization_id
    role = ctx.roles.get((clinician, org))
    if role:
        return ref("PractitionerRole", role)
    if clinician:
        return ref("Practitioner", clinician)
    if org:
        return ref("Organization", org)
    return {"display": referral.referrer_as_given} if referral.referrer_as_given else None


def _identifiers(referral: Referral) -> list[dict]:
    identifiers = []
    if referral.sender_reference:
        identifiers.append(
            compact(
                {
                    "type": _identifier_type("PLAC", "Placer Identifier"),
                    "system": referral.sender_system,
                    "value": referral.sender_reference,
                }
            )
        )
    identifiers.append(
        {
            "type": _identifier_type("FILL", "Filler Identifier"),
            "system": REFERRAL_NUMBER_SYSTEM,
            "value": referral.number,
        }
    )
    return identifiers


def _identifier_type(code: str, display: str) -> dict:
    return {"coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": code, "display": display}]}


def _performer(referral: Referral) -> list[dict]:
    where = f"{settings.REFLOOP_PRACTICE_NAME}, {referral.service_line.name}"
    if referral.receiving_clinician_id:
        return [
            ref("Practitioner", referral.receiving_clinician_id, str(referral.receiving_clinician))
        ]
    return [{"display": where}]


def service_request(referral: Referral, ctx: Context) -> dict:
    reason_codes = [
        {"coding": [{"system": ICD10CM_SYSTEM, "code": code}]} for code in referral.diagnoses
    ]
    return compact(
        {
            "resourceType": "ServiceRequest",
            "id": str(referral.pk),
            **meta(referral.updated_at),
            "identifier": _identifiers(referral),
            "status": service_request_status(referral.state, referral.outcome_reason),
            "intent": "order",
            "code": {
                "coding": [
                    {"system": SNOMED_SYSTEM, "code": "3457005", "display": "Patient referral"}
                ],
                "text": f"Referral to {referral.service_line.name}",
            },
            "priority": referral.priority,  # routine, urgent, stat: FHIR's request priorities
            "subject": ref("Patient", referral.patient_id),
            "authoredOn": instant(referral.received_at),
            "requester": requester(referral, ctx),
            "performer": _performer(referral),
            "reasonCode": reason_codes,
            "note": [{"text": referral.reason}] if referral.reason else [],
            "insurance": [ref("Coverage", pk) for pk in ctx.coverages.get(referral.patient_id, [])],
        }
    )


def task_status(state: str) -> tuple[str, str | None]:
    return FHIR_TASK_STATUS[State(state)]


def _status_reason(referral: Referral) -> dict | None:
    reasons = REASONS_FOR.get(referral.state)
    if not reasons or not referral.outcome_reason:
        return None
    try:
        label = reasons(referral.outcome_reason).label
    except ValueError:
        label = referral.outcome_reason
    coding = {"system": OUTCOME_REASON_SYSTEM, "code": referral.outcome_reason, "display": label}
    return {"coding": [coding], "text": label}


def task(referral: Referral, ctx: Context) -> dict:
    status, business = task_status(referral.state)
    business_status = None
    if business:
        coding = {
            "system": BSER_BUSINESS_STATUS_SYSTEM,
            "code": business,
            "display": BUSINESS_STATUS_DISPLAY[business],
        }
        business_status = {"coding": [coding], "text": referral.get_state_display()}
    return compact(
        {
            "resourceType": "Task",
            "id": str(referral.pk),
            **meta(referral.updated_at),
            "identifier": [{"system": REFERRAL_NUMBER_SYSTEM, "value": referral.number}],
            "basedOn": [ref("ServiceRequest", referral.pk)],
            "status": status,
            "statusReason": _status_reason(referral),
            "businessStatus": business_status,
            "intent": "order",
            "priority": referral.priority,
            "code": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/CodeSystem/task-code",
                        "code": "fulfill",
                        "display": "Fulfill the focal request",
                    }
                ]
            },
            "focus": ref("ServiceRequest", referral.pk),
            "for": ref("Patient", referral.patient_id),
            "authoredOn": instant(referral.received_at),
            "lastModified": instant(referral.state_changed_at),
            "requester": requester(referral, ctx),
            "owner": {"display": settings.REFLOOP_PRACTICE_NAME},
            # The consult report sent back: the Task's output (BSeR referral feedback).
            "output": [
                {
                    "type": {"text": "Consult report"},
                    "valueReference": ref("DocumentReference", document_id),
                }
                for document_id in ctx.reports.get(referral.pk, [])
            ],
        }
    )
