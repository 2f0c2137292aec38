"""DocumentReference (every document of a referral, the consult report among them),
Communication (the report sent back) and Binary (a document's bytes).

The attachment carries a URL to Binary/<id>, not the bytes: a search page stays small, and the
client fetches a PDF only when it wants it (with the same credential and scoping)."""

from __future__ import annotations

import base64

from refloop.directory.enums import DocumentKind
from refloop.interop.fhir.resources import LOINC_SYSTEM, Context, compact, instant, ref
from refloop.loop.models import ReportSent
from refloop.referrals.models import Document

# LOINC document types where one fits; the others go as text.
DOCUMENT_LOINC = {
    DocumentKind.REPORT: ("11488-4", "Consult note"),
    DocumentKind.REFERRAL_LETTER: ("57133-1", "Referral note"),
    DocumentKind.IMAGING: ("18748-4", "Diagnostic imaging study"),
    DocumentKind.LABS: ("11502-2", "Laboratory report"),
}


def _type(kind: str) -> dict:
    label = DocumentKind(kind).label if kind in DocumentKind.values else kind
    loinc = DOCUMENT_LOINC.get(kind)
    if loinc:
        return {
            "coding": [{"system": LOINC_SYSTEM, "code": loinc[0], "display": loinc[1]}],
            "text": label,
        }
    return {"text": label}


def document_reference(row: Document, ctx: Context) -> dict:
    attachment = compact(
        {
            "contentType": row.content_type,
            "url": f"{ctx.base_url}/Binary/{row.pk}",
            "size": row.size,
            "title": row.title or DocumentKind(row.kind).label,
            "creation": instant(row.uploaded_at),
        }
    )
    return compact(
        {
            "resourceType": "DocumentReference",
            "id": str(row.pk),
            **({"meta": {"lastUpdated": instant(row.uploaded_at)}}),
            "status": "current",
            "docStatus": "final",
            "type": _type(row.kind),
            "subject": ref("Patient", row.referral.patient_id),
            "date": instant(row.uploaded_at),
            "description": row.title,
            "content": [{"attachment": attachment}],
            "context": {"related": [ref("ServiceRequest", row.referral_id)]},
        }
    )


def communication(row: ReportSent, ctx: Context) -> dict:
    referral = row.referral
    recipient = []
    if referral.referring_clinician_id:
        role = ctx.roles.get((referral.referring_clinician_id, referral.referring_organization_id))
        recipient.append(
            ref("PractitionerRole", role)
            if role
            else ref("Practitioner", referral.referring_clinician_id)
        )
    elif referral.referring_organization_id:
        recipient.append(ref("Organization", referral.referring_organization_id))
    return compact(
        {
            "resourceType": "Communication",
            "id": str(row.pk),
            "basedOn": [ref("ServiceRequest", row.referral_id)],
            "status": "completed",
            "category": [
                {"coding": [{"system": LOINC_SYSTEM, "code": "11488-4", "display": "Consult note"}]}
            ],
            "subject": ref("Patient", referral.patient_id),
            "about": [ref("Task", row.referral_id)],
            "sent": instant(row.sent_at),
            "received": instant(row.delivered_at),
            "recipient": recipient,
            "payload": [
                {"contentReference": ref("DocumentReference", row.document_id, "Consult report")}
            ],
            "note": [{"text": f"Sent by {row.get_channel_display()}."}],
        }
    )


def binary(row: Document, content: bytes) -> dict:
    return {
        "resourceType": "Binary",
        "id": str(row.pk),
        "contentType": row.content_type,
        "data": base64.b64encode(content).decode("ascii"),
    }
