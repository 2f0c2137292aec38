"""What the FHIR API supports, in one table: the views refuse what is not in it, the search
parser accepts only the parameters it lists, and /metadata is built from it, so the
CapabilityStatement cannot say more (or less) than the server does."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

FHIR_VERSION = "4.0.1"
SMART_CAPABILITIES = ("client-confidential-asymmetric", "permission-v1", "permission-v2")
SIGNING_ALGORITHMS = ("RS384", "ES384")
# Unknown search parameters are refused (400) unless the client sends `Prefer: handling=lenient`.
DEFAULT_HANDLING = "strict"
COUNT_DEFAULT = 20
COUNT_MAX = 100


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # FHIR search parameter type: token, reference, date, string
    doc: str


@dataclass(frozen=True)
class Support:
    """One resource type: read, search with these parameters, and the writes listed."""

    type: str
    search: tuple[Param, ...] = ()
    includes: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()  # create, update (views_write)
    conditional_create: bool = False
    search_type: bool = True
    doc: str = ""
    profile: str = ""
    extra: dict = field(default_factory=dict)


_ID = Param("_id", "token", "Logical id.")
_UPDATED = Param("_lastUpdated", "date", "meta.lastUpdated, with eq/ge/gt/le/lt prefixes.")
_PATIENT = Param("patient", "reference", "Patient/<id> or <id>.")

SUPPORTED: dict[str, Support] = {
    s.type: s
    for s in (
        Support(
            "ServiceRequest",
            search=(
                _ID,
                Param("identifier", "token", "system|value: the placer's or our referral number."),
                _PATIENT,
                Param("subject", "reference", "Same as patient."),
                Param("status", "token", "active, revoked, completed (comma = or)."),
                Param(
                    "requester", "reference", "PractitionerRole/, Practitioner/ or Organization/."
                ),
                Param("performer", "reference", "Practitioner/<id>."),
                Param("authored", "date", "authoredOn (received), eq/ge/gt/le/lt prefixes."),
                _UPDATED,
            ),
            includes=("ServiceRequest:patient", "ServiceRequest:requester"),
            writes=("create", "update"),
            conditional_create=True,
            doc="The referral as the placer sent it; changes only when revised, revoked or done.",
        ),
        Support(
            "Task",
            search=(
                _ID,
                _PATIENT,
                Param("focus", "reference", "ServiceRequest/<id>."),
                Param("status", "token", "Task.status (comma = or)."),
                Param("business-status", "token", "BSeR TaskBusinessStatusCS code, e.g. 5.1.1."),
                _UPDATED,
            ),
            doc="Our workflow on the referral: status and BSeR businessStatus per state.",
        ),
        Support(
            "Patient",
            search=(_ID, Param("identifier", "token", "system|value (our MRN).")),
        ),
        Support(
            "Practitioner",
            search=(_ID, Param("identifier", "token", "http://hl7.org/fhir/sid/us-npi|<NPI>.")),
        ),
        Support(
            "PractitionerRole",
            search=(
                _ID,
                Param("practitioner", "reference", "Practitioner/<id>."),
                Param("organization", "reference", "Organization/<id>."),
            ),
        ),
        Support(
            "Organization",
            search=(_ID, Param("identifier", "token", "http://hl7.org/fhir/sid/us-npi|<NPI>.")),
        ),
        Support(
            "Appointment",
            search=(
                _ID,
                _PATIENT,
                Param("based-on", "reference", "ServiceRequest/<id>."),
                Param("status", "token", "booked, fulfilled, noshow, cancelled."),
                Param("date", "date", "start, eq/ge/gt/le/lt prefixes."),
            ),
        ),
        Support(
            "DocumentReference",
            search=(
                _ID,
                _PATIENT,
                Param("related", "reference", "ServiceRequest/<id> (context.related)."),
            ),
            doc="Documents of the referral, the consult report among them; content.attachment.url "
            "points at Binary/<id> (the bytes), never inline.",
        ),
        Support(
            "Communication",
            search=(
                _ID,
                _PATIENT,
                Param("based-on", "reference", "ServiceRequest/<id>."),
                Param("sent", "date", "When the report was sent, eq/ge/gt/le/lt prefixes."),
            ),
            doc="The consult report sent back: payload references its DocumentReference.",
        ),
        Support("Coverage", search=(_ID, Param("beneficiary", "reference", "Patient/<id>."))),
        Support(
            "Binary",
            search_type=False,
            doc="A document's bytes: its own content type, or a Binary resource (base64) when "
            "the Accept header asks for application/fhir+json.",
        ),
    )
}

# Parameters every search accepts besides the type's own.
RESULT_PARAMS = ("_count", "_include", "_offset", "_format")
# Whole-system interactions and operations (served by views_write).
SYSTEM_INTERACTIONS = ("transaction",)
OPERATIONS = (
    ("process-message", "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"),
)


def support_of(resource_type: str) -> Support | None:
    return SUPPORTED.get(resource_type)


def capability_statement(*, base_url: str, token_url: str) -> dict:
    """The CapabilityStatement, derived from SUPPORTED."""
    resources = []
    for s in SUPPORTED.values():
        interactions = ["read"] + (["search-type"] if s.search_type else [])
        interactions += list(s.writes)
        entry = {
            "type": s.type,
            "interaction": [{"code": code} for code in interactions],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": s.conditional_create,
            "conditionalRead": "not-supported",
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchParam": [
                {"name": p.name, "type": p.type, "documentation": p.doc} for p in s.search
            ],
        }
        if s.includes:
            entry["searchInclude"] = list(s.includes)
        if s.doc:
            entry["documentation"] = s.doc
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-29",
        "publisher": settings.REFLOOP_PRACTICE_NAME,
        "kind": "instance",
        "software": {"name": "Refloop"},
        "implementation": {"description": "Refloop referral API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "xml"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Searches take _count (default {COUNT_DEFAULT}, at most {COUNT_MAX}) and "
                    "_offset; pages link "
                    "self/next/previous. An unknown search parameter is refused with a 400 "
                    "OperationOutcome naming it, unless the request carries "
                    "'Prefer: handling=lenient', when it is ignored and left out of the self link. "
                    "Each client sees only its own organization's referrals and what they "
                    "reference; anything else answers 404."
                ),
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "SMART Backend Services (client_credentials with a JWT "
                    "signed RS384 or ES384), or an API key, as 'Authorization: Bearer'. Scopes "
                    "system/<Type>.cruds (SMART v2) or system/<Type>.read|write (v1).",
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/"
                            "oauth-uris",
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                },
                "resource": resources,
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
                "operation": [{"name": name, "definition": url} for name, url in OPERATIONS],
            }
        ],
    }
