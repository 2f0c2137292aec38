"""A placer's ServiceRequest, with what it references, as a ReferralSubmission.

How a sender names our service line, first match wins:
1. a coding with system SERVICE_LINE_SYSTEM and one of our service line codes, in
   ServiceRequest.category, ServiceRequest.code or ServiceRequest.performerType (a code system of
   our own: SNOMED/LOINC have no code for "our knee clinic");
2. a performer HealthcareService carrying that coding (in type or category), or an identifier in
   that system, or named exactly like one of our service lines;
3. the default configured for the client (settings.REFLOOP_FHIR_DEFAULT_SERVICE_LINES, client_id ->
   service line code): a clinic's EHR that only ever refers to one of our clinics need say nothing.
Otherwise the referral is refused, naming the codes we accept. A sender's own placer number
(ServiceRequest.identifier: the one a conditional create names, else the one typed PLAC, else
the first) is the resend key: sender_system is its system (the client's client_id when it has
none, as BSeR's PLAC identifiers), sender_reference its value. Another organization's client
reusing a key already taken is refused (services), never answered with that referral."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings

from refloop.core.errors import DomainError
from refloop.directory.enums import DocumentKind, Priority
from refloop.directory.models import Clinician, ServiceLine
from refloop.directory.validators import ICD10CM
from refloop.interop.fhir.inbound.conditional import identifier_query
from refloop.interop.fhir.inbound.problems import reject
from refloop.interop.fhir.inbound.references import Resources
from refloop.referrals.enums import Channel
from refloop.referrals.services import (
    IncomingDocument,
    PatientData,
    ReferralSubmission,
    ReferrerData,
)
from refloop.referrals.services.documents import document_check

SERVICE_LINE_SYSTEM = "https://refloop.org/fhir/CodeSystem/service-line"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEMS = {"http://hl7.org/fhir/sid/icd-10-cm", "urn:oid:2.16.840.1.113883.6.90"}
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOINC = "http://loinc.org"
# FHIR request-priority to ours. asap ranks above urgent in FHIR: never slower than asked.
PRIORITY = {
    "routine": Priority.ROUTINE,
    "urgent": Priority.URGENT,
    "asap": Priority.STAT,
    "stat": Priority.STAT,
}
SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
# LOINC document types (DocumentReference.type) to the kinds a checklist asks for.
DOCUMENT_KIND = {
    "57133-1": DocumentKind.REFERRAL_LETTER,  # Referral note
    "11488-4": DocumentKind.NOTES,  # Consult note
    "34117-2": DocumentKind.NOTES,  # History and physical note
    "11506-3": DocumentKind.NOTES,  # Progress note
    "34133-9": DocumentKind.NOTES,  # Summary of episode note
    "18748-4": DocumentKind.IMAGING,  # Diagnostic imaging study
    "18726-0": DocumentKind.IMAGING,  # Radiology studies
    "11502-2": DocumentKind.LABS,  # Laboratory report
    "26436-6": DocumentKind.LABS,  # Laboratory studies
    "64290-0": DocumentKind.INSURANCE_CARD,  # Health insurance card
    "48768-6": DocumentKind.INSURANCE_CARD,  # Payment sources document
}
DOCUMENT_KIND_SYSTEM = "https://refloop.org/fhir/CodeSystem/document-kind"
EXTENSION = {
    "application/pdf": "pdf",
    "image/tiff": "tif",
    "image/png": "png",
    "image/jpeg": "jpg",
}


@dataclass(frozen=True)
class Placed:
    """A ServiceRequest read: the submission, and the Patient resource it was made from."""

    submission: ReferralSubmission
    patient_resource: object


def service_request_submission(
    *, resources: Resources, service_request, client, if_none_exist: str = ""
) -> Placed:
    sr = service_request
    at = resources.path(sr)
    if sr.status != "active":
        reject(
            f"a new referral must be active, not '{sr.status}'.",
            expression=f"{at}.status",
            code="value",
        )
    patient = resources.resolve(
        sr.subject, owner=sr, at=f"{at}.subject", kinds=("Patient",), required=True
    )
    reason, diagnoses = reason_and_diagnoses(resources=resources, service_request=sr)
    if not reason:
        reject(
            "give the reason for the referral: reasonCode (text or a coding's display), a "
            "reasonReference to a Condition, or a note.",
            expression=f"{at}.reasonCode",
            code="required",
        )
    system, reference = sender_identifier(sr, at=at, if_none_exist=if_none_exist)
    submission = ReferralSubmission(
        patient=patient_data(resources=resources, patient=patient, service_request=sr),
        referrer=referrer_data(resources=resources, service_request=sr, client=client),
        service_line_id=service_line_id(resources=resources, service_request=sr, client=client),
        reason=reason,
        channel=Channel.FHIR,
        priority=priority(sr, at=at),
        diagnoses=diagnoses,
        receiving_clinician_id=receiving_clinician_id(resources=resources, service_request=sr),
        sender_system=(system or client.client_id) if reference else "",
        sender_reference=reference,
        documents=documents(resources=resources),
    )
    return Placed(submission=submission, patient_resource=patient)


def priority(sr, *, at: str) -> str:
    if sr.priority is None:
        return Priority.ROUTINE
    if sr.priority not in PRIORITY:
        reject(
            f"'{sr.priority}' is not a request priority (routine, urgent, asap, stat).",
            expression=f"{at}.priority",
        )
    return PRIORITY[sr.priority]


def sender_identifier(sr, *, at: str, if_none_exist: str) -> tuple[str, str]:
    """(system, value) of the placer identifier the conditional create names, else the one
    typed PLAC, else the first with a value; ("", "") when there is none."""
    identifiers = [i for i in sr.identifier or () if i.value]
    chosen = None
    if if_none_exist:
        wanted_system, wanted_value = identifier_query(if_none_exist)
        chosen = next(
            (
                i
                for i in identifiers
                if i.value == wanted_value and (wanted_system is None or i.system == wanted_system)
            ),
            None,
        )
        if chosen is None:
            reject(
                f"ifNoneExist '{if_none_exist}' names an identifier the ServiceRequest does not "
                "carry.",
                expression=f"{at}.identifier",
            )
    chosen = chosen or next((i for i in identifiers if _typed(i, "PLAC")), None)
    chosen = chosen or (identifiers[0] if identifiers else None)
    if chosen is None:
        return "", ""
    if len(chosen.system or "") > 120 or len(chosen.value) > 120:
        reject(
            "the placer identifier's system and value are kept up to 120 characters each.",
            expression=f"{at}.identifier",
        )
    return chosen.system or "", chosen.value


def _typed(identifier, code: str) -> bool:
    return any(
        c.code == code and c.system in (None, V2_0203)
        for c in (identifier.type.coding if identifier.type else None) or ()
    )


def _text(concept) -> str:
    if concept is None:
        return ""
    if concept.text:
        return concept.text.strip()
    return next((c.display.strip() for c in concept.coding or () if c.display), "")


def _icd10cm(concept, *, at: str) -> list[str]:
    codes = []
    for n, coding in enumerate(concept.coding or () if concept else ()):
        if coding.system in ICD10CM_SYSTEMS and coding.code:
            if not ICD10CM.match(coding.code):
                reject(
                    f"'{coding.code}' is not an ICD-10-CM code (e.g. M17.11).",
                    expression=f"{at}.coding[{n}].code",
                )
            codes.append(coding.code.upper())
    return codes


def reason_and_diagnoses(*, resources: Resources, service_request) -> tuple[str, tuple[str, ...]]:
    """The reason as the sender wrote it (reasonCode, the Conditions in reasonReference, notes),
    and the ICD-10-CM codes among them and among the Bundle's Conditions."""
    sr = service_request
    at = resources.path(sr)
    texts, codes = [], []
    for n, concept in enumerate(sr.reasonCode or ()):
        texts.append(_text(concept))
        codes += _icd10cm(concept, at=f"{at}.reasonCode[{n}]")
    for n, reference in enumerate(sr.reasonReference or ()):
        condition = resources.resolve(
            reference,
            owner=sr,
            at=f"{at}.reasonReference[{n}]",
            kinds=("Condition", "Observation", "DiagnosticReport", "DocumentReference"),
        )
        if condition is not None and condition.get_resource_type() == "Condition":
            texts.append(_text(condition.code))
    for found in resources.of_type("Condition"):
        codes += _icd10cm(found.resource.code, at=f"{found.path}.code")
    texts += [note.text.strip() for note in sr.note or () if note.text]
    reason = "\n".join(dict.fromkeys(t for t in texts if t))
    return reason, tuple(dict.fromkeys(codes))


def _name(names) -> tuple[str, str]:
    names = list(names or ())
    name = next((n for n in names if n.use in ("official", "usual")), names[0] if names else None)
    if name is None:
        return "", ""
    given, family = (name.given or [""])[0].strip(), (name.family or "").strip()
    if not (given and family) and name.text:
        first, _, last = name.text.strip().rpartition(" ")
        given, family = given or first, family or last
    return given, family


def _telecom(points, system: str) -> str:
    return next((p.value for p in points or () if p.system == system and p.value), "")


def patient_data(*, resources: Resources, patient, service_request) -> PatientData:
    at = resources.path(patient)
    first, last = _name(patient.name)
    if not (first and last):
        reject(
            "the patient's given and family names are needed.",
            expression=f"{at}.name",
            code="required",
        )
    if patient.birthDate is None:
        reject("the patient's birth date is needed.", expression=f"{at}.birthDate", code="required")
    address = (patient.address or [None])[0]
    language = next(
        (_text(c.language) for c in patient.communication or () if c.preferred), ""
    ) or next((_text(c.language) for c in patient.communication or ()), "")
    payer, plan, member_id = coverage(resources=resources, service_request=service_request)
    return PatientData(
        first_name=first[:100],
        last_name=last[:100],
        birth_date=patient.birthDate,
        sex=SEX.get(patient.gender or "unknown", "unknown"),
        phone=_telecom(patient.telecom, "phone")[:30],
        email=_telecom(patient.telecom, "email")[:254],
        address=", ".join(address.line or ())[:300] if address else "",
        city=(address.city or "")[:100] if address else "",
        state=(address.state or "")[:2] if address and len(address.state or "") == 2 else "",
        postal_code=(address.postalCode or "")[:10] if address else "",
        preferred_language=language[:40] or "English",
        payer=payer[:120],
        plan=plan[:120],
        member_id=member_id[:60],
    )


def coverage(*, resources: Resources, service_request) -> tuple[str, str, str]:
    """(payer, plan, member id) of the first Coverage the ServiceRequest names, else the first in
    what was sent."""
    sr = service_request
    at = resources.path(sr)
    found = None
    for n, reference in enumerate(sr.insurance or ()):
        found = resources.resolve(
            reference, owner=sr, at=f"{at}.insurance[{n}]", kinds=("Coverage", "ClaimResponse")
        )
        if found is not None and found.get_resource_type() == "Coverage":
            break
        found = None
    if found is None:
        found = next((f.resource for f in resources.of_type("Coverage")), None)
    if found is None:
        return "", "", ""
    payer = ""
    for reference in found.payor or ():
        organization = resources.resolve(
            reference,
            owner=found,
            at=f"{resources.path(found)}.payor",
            kinds=("Organization", "Patient", "RelatedPerson"),
        )
        payer = (getattr(organization, "name", None) or reference.display or "").strip()
        if payer:
            break
    plan = next(
        (
            c.name or c.value
            for c in found.class_fhir or ()
            if any(t.code == "plan" for t in c.type.coding or ())
        ),
        "",
    )
    member = found.subscriberId or next((i.value for i in found.identifier or () if i.value), "")
    return payer, plan, member or ""


def _npi(resource) -> str:
    return next(
        (i.value for i in getattr(resource, "identifier", None) or () if i.system == NPI_SYSTEM),
        "",
    )


def _practitioner_of(resources: Resources, reference, owner, at: str):
    """(Practitioner or None, PractitionerRole or None, Organization or None) behind a
    requester/performer reference."""
    target = resources.resolve(
        reference,
        owner=owner,
        at=at,
        kinds=(
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "HealthcareService",
            "Patient",
            "RelatedPerson",
            "Device",
            "CareTeam",
        ),
        required=False,
    )
    kind = target.get_resource_type() if target is not None else ""
    if kind == "Practitioner":
        return target, None, None
    if kind == "PractitionerRole":
        practitioner = resources.resolve(
            target.practitioner,
            owner=target,
            at=f"{resources.path(target)}.practitioner",
            kinds=("Practitioner",),
        )
        organization = resources.resolve(
            target.organization,
            owner=target,
            at=f"{resources.path(target)}.organization",
            kinds=("Organization",),
        )
        return practitioner, target, organization
    if kind == "Organization":
        return None, None, target
    return None, None, None


def referrer_data(*, resources: Resources, service_request, client) -> ReferrerData:
    """The requester as sent (matched to our directory by the Practitioner's NPI, else the
    role's); the referring organization is the client's: it acts for that organization."""
    sr = service_request
    at = resources.path(sr)
    if sr.requester is not None and sr.requester.reference:
        # A requester that points at nothing sent cannot be left out quietly.
        resources.resolve(
            sr.requester,
            owner=sr,
            at=f"{at}.requester",
            kinds=(
                "Practitioner",
                "PractitionerRole",
                "Organization",
                "Patient",
                "RelatedPerson",
                "Device",
            ),
            required=True,
        )
    practitioner, role, organization = _practitioner_of(
        resources, sr.requester, sr, f"{at}.requester"
    )
    first, last = _name(practitioner.name) if practitioner else ("", "")
    name = " ".join(p for p in (first, last) if p) or (
        sr.requester.display if sr.requester and sr.requester.display else ""
    )
    org_name = (organization.name if organization and organization.name else "") or (
        client.organization.name
    )
    return ReferrerData(
        npi=_npi(practitioner) or _npi(role),
        name=name[:200],
        organization_name=org_name[:200],
        organization_id=client.organization_id,
    )


def receiving_clinician_id(*, resources: Resources, service_request) -> int | None:
    """One of our clinicians, when the performer names them by NPI."""
    sr = service_request
    at = resources.path(sr)
    for n, reference in enumerate(sr.performer or ()):
        practitioner, role, _ = _practitioner_of(resources, reference, sr, f"{at}.performer[{n}]")
        npis = [v for v in (_npi(practitioner), _npi(role)) if v]
        if npis:
            found = Clinician.objects.filter(npi__in=npis).values_list("pk", flat=True).first()
            if found:
                return found
    return None


def _codes_in(concepts) -> list[tuple[int, int, str]]:
    return [
        (n, m, coding.code)
        for n, concept in enumerate(concepts)
        for m, coding in enumerate(concept.coding or () if concept else ())
        if coding.system == SERVICE_LINE_SYSTEM and coding.code
    ]


def service_line_id(*, resources: Resources, service_request, client) -> int:
    sr = service_request
    at = resources.path(sr)
    places = [
        ("category", list(sr.category or ())),
        ("code", [sr.code]),
        ("performerType", [sr.performerType]),
    ]
    for element, concepts in places:
        for n, m, code in _codes_in(concepts):
            path = f"{at}.{element}" + (f"[{n}]" if element == "category" else "")
            return _line_by_code(code, at=f"{path}.coding[{m}].code")
    for n, reference in enumerate(sr.performer or ()):
        service = resources.resolve(
            reference,
            owner=sr,
            at=f"{at}.performer[{n}]",
            kinds=(
                "HealthcareService",
                "Practitioner",
                "PractitionerRole",
                "Organization",
                "Patient",
                "RelatedPerson",
                "Device",
                "CareTeam",
            ),
        )
        if service is None or service.get_resource_type() != "HealthcareService":
            continue
        found = _line_of_service(service, at=resources.path(service))
        if found:
            return found
    default = getattr(settings, "REFLOOP_FHIR_DEFAULT_SERVICE_LINES", {}).get(client.client_id)
    if default:
        return _line_by_code(default, at=f"{at}.category")
    codes = ", ".join(
        ServiceLine.objects.filter(active=True).order_by("code").values_list("code", flat=True)
    )
    reject(
        f"name the service line: a coding with system {SERVICE_LINE_SYSTEM} in category, code "
        f"or performerType, or a performer HealthcareService; our codes: {codes}.",
        expression=f"{at}.category",
        code="required",
    )


def _line_by_code(code: str, *, at: str) -> int:
    found = ServiceLine.objects.filter(code=code, active=True).values_list("pk", flat=True).first()
    if found is None:
        reject(f"'{code}' is not one of our active service lines.", expression=at)
    return found


def _line_of_service(service, *, at: str) -> int | None:
    for element in ("type", "category", "specialty"):
        for n, m, code in _codes_in(getattr(service, element, None) or ()):
            return _line_by_code(code, at=f"{at}.{element}[{n}].coding[{m}].code")
    for identifier in service.identifier or ():
        if identifier.system == SERVICE_LINE_SYSTEM and identifier.value:
            return _line_by_code(identifier.value, at=f"{at}.identifier")
    if service.name:
        return (
            ServiceLine.objects.filter(name__iexact=service.name.strip(), active=True)
            .values_list("pk", flat=True)
            .first()
        )
    return None


def documents(*, resources: Resources) -> tuple[IncomingDocument, ...]:
    """Every DocumentReference's attachments (inline data, or a Binary sent beside it), and every
    Binary no DocumentReference points at: nothing sent is left behind."""
    incoming, binaries_used = [], set()
    for found in resources.of_type("DocumentReference"):
        reference = found.resource
        kind = document_kind(reference)
        for n, content in enumerate(reference.content or ()):
            at = f"{found.path}.content[{n}].attachment"
            data, binary = attachment_bytes(resources, content.attachment, reference, at=at)
            if binary is not None:
                binaries_used.add(id(binary))
            title = content.attachment.title or reference.description or ""
            incoming.append(_incoming(kind, title, data, content.attachment.contentType, at))
    for found in resources.of_type("Binary"):
        if id(found.resource) not in binaries_used:
            binary = found.resource
            incoming.append(
                _incoming(DocumentKind.OTHER, "", binary.data, binary.contentType, found.path)
            )
    return tuple(incoming)


def _incoming(kind: str, title: str, data: bytes | None, content_type, at: str):
    if not data:
        reject("the attachment has no data.", expression=at, code="required")
    extension = EXTENSION.get((content_type or "").split(";")[0].strip(), "bin")
    stem = "".join(c if c.isalnum() or c in "-_ " else "-" for c in title)[:80].strip() or kind
    incoming = IncomingDocument(
        kind=kind, filename=f"{stem}.{extension}", content=bytes(data), title=title[:200]
    )
    try:
        document_check(incoming)
    except DomainError as error:
        reject(error.message, expression=at, code="value")
    return incoming


def attachment_bytes(resources: Resources, attachment, owner, *, at: str):
    """(bytes, the Binary they came from or None). A url we would have to fetch is refused: we
    do not reach out to other servers for what a sender meant to send."""
    if attachment.data:
        return attachment.data, None
    if attachment.url:
        binary = resources.resolve(
            SimpleNamespace(reference=attachment.url),
            owner=owner,
            at=f"{at}.url",
            kinds=("Binary",),
        )
        if binary is None:
            reject(
                f"attachment url {attachment.url} is not a Binary in the Bundle: send the "
                "document inline (attachment.data) or as a Binary entry.",
                expression=f"{at}.url",
                code="not-supported",
            )
        return binary.data, binary
    reject("the attachment has neither data nor a url.", expression=at, code="required")


def document_kind(reference) -> str:
    for concept in [reference.type, *(reference.category or ())]:
        for coding in concept.coding or () if concept else ():
            if coding.system == DOCUMENT_KIND_SYSTEM and coding.code in DocumentKind.values:
                return coding.code
            if coding.system == LOINC and coding.code in DOCUMENT_KIND:
                return DOCUMENT_KIND[coding.code]
    return DocumentKind.OTHER
