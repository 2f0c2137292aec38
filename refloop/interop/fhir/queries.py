"""Reads behind the FHIR API: what a client may see, and the search filters.

A client sees the referrals of its own organization and those it sent itself (its
FhirSubmissions), and only what those reference: their patients, the patients' coverages, the
clinicians and organizations on them, their appointments, documents and reports sent. Anything
else does not exist for it (404, never 403: an id must not tell whether it is there)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from refloop.access.models import Appointment
from refloop.directory.models import Clinician, ClinicianRole, Coverage, Organization, Patient
from refloop.interop.fhir.models import ApiClient, FhirSubmission
from refloop.interop.fhir.params import BadParameter, date_lookup, integer_id, reference_id, token
from refloop.interop.fhir.resources import MRN_SYSTEM, NPI_SYSTEM, REFERRAL_NUMBER_SYSTEM, Context
from refloop.interop.fhir.resources.referrals import COMPLETED_STATES
from refloop.interop.fhir.resources.visits import APPOINTMENT_STATUS
from refloop.loop.models import ReportSent
from refloop.referrals.enums import FHIR_TASK_STATUS, CancelReason, Channel, State
from refloop.referrals.models import Document, Referral

# Visibility ----------------------------------------------------------------------------------


def referrals_visible(client: ApiClient) -> QuerySet[Referral]:
    sent = FhirSubmission.objects.filter(client=client, referral__isnull=False).values(
        "referral_id"
    )
    return Referral.objects.filter(
        Q(referring_organization_id=client.organization_id)
        | Q(pk__in=sent)
        | Q(channel=Channel.FHIR, sender_system=client.client_id)
    )


def patients_visible(client: ApiClient) -> QuerySet[Patient]:
    return Patient.objects.filter(pk__in=referrals_visible(client).values("patient_id"))


def clinicians_visible(client: ApiClient) -> QuerySet[Clinician]:
    referrals = referrals_visible(client)
    return Clinician.objects.filter(
        Q(pk__in=referrals.values("referring_clinician_id"))
        | Q(pk__in=referrals.values("receiving_clinician_id"))
        | Q(pk__in=Appointment.objects.filter(referral__in=referrals).values("clinician_id"))
        | Q(roles__organization_id=client.organization_id)
    ).distinct()


def roles_visible(client: ApiClient) -> QuerySet[ClinicianRole]:
    return ClinicianRole.objects.filter(
        organization__in=organizations_visible(client),
        clinician__in=clinicians_visible(client),
    )


def organizations_visible(client: ApiClient) -> QuerySet[Organization]:
    referrals = referrals_visible(client)
    return Organization.objects.filter(
        Q(pk=client.organization_id) | Q(pk__in=referrals.values("referring_organization_id"))
    )


def coverages_visible(client: ApiClient) -> QuerySet[Coverage]:
    return Coverage.objects.filter(patient__in=patients_visible(client))


def appointments_visible(client: ApiClient) -> QuerySet[Appointment]:
    return Appointment.objects.filter(referral__in=referrals_visible(client))


def documents_visible(client: ApiClient) -> QuerySet[Document]:
    return Document.objects.filter(referral__in=referrals_visible(client))


def reports_visible(client: ApiClient) -> QuerySet[ReportSent]:
    return ReportSent.objects.filter(referral__in=referrals_visible(client))


# Filters: each takes one occurrence of a parameter (commas meaning "or") and returns a Q -------


def _any(value: str, one) -> Q:
    q = Q(pk__in=[])
    for part in value.split(","):
        q |= one(part)
    return q


def by_id(value: str) -> Q:
    return Q(pk__in=[integer_id("_id", v) for v in value.split(",")])


def by_ref(field: str, name: str, *types: str):
    return lambda value: _any(value, lambda v: Q(**{field: reference_id(name, v, *types)}))


def by_date(field: str, name: str):
    return lambda value: Q(**date_lookup(field, name, value))


def by_identifier(system_expected: str, field: str):
    def one(text: str) -> Q:
        system, code = token(text)
        if system not in (None, system_expected):
            return Q(pk__in=[])
        return Q(**{field: code})

    return lambda value: _any(value, one)


def referral_identifier(text: str) -> Q:
    system, code = token(text)
    number = Referral.pk_from_number(code) if code.upper().startswith("R-") else None
    if system == REFERRAL_NUMBER_SYSTEM:
        return Q(pk=number or 0)
    if system is None:
        return Q(sender_reference=code) | Q(pk=number or 0)
    return Q(sender_system=system, sender_reference=code) & ~Q(sender_reference="")


_REVOKED = Q(state=State.CANCELLED, outcome_reason=CancelReason.REFERRER_WITHDREW)
SERVICE_REQUEST_STATUS = {
    "revoked": _REVOKED,
    "completed": Q(state__in=COMPLETED_STATES),
    "active": ~Q(state__in=COMPLETED_STATES) & ~_REVOKED,
}


def _code_filter(name: str, table: dict[str, Q]):
    def one(code: str) -> Q:
        if code not in table:
            raise BadParameter(f"{name}: unknown code {code!r} (one of {', '.join(table)}).")
        return table[code]

    return lambda value: _any(value, one)


def _states_where(position: int) -> dict[str, Q]:
    codes: dict[str, list[str]] = {}
    for state, pair in FHIR_TASK_STATUS.items():
        if pair[position]:
            codes.setdefault(pair[position], []).append(state)
    return {code: Q(state__in=states) for code, states in codes.items()}


def referral_requester(value: str) -> Q:
    def one(text: str) -> Q:
        parts = text.rstrip("/").split("/")
        kind = parts[-2] if len(parts) >= 2 else "Practitioner"
        pk = reference_id("requester", text, "PractitionerRole", "Practitioner", "Organization")
        if kind == "Organization":
            return Q(referring_organization_id=pk)
        if kind == "Practitioner":
            return Q(referring_clinician_id=pk)
        role = ClinicianRole.objects.filter(pk=pk).first()
        if role is None:
            return Q(pk__in=[])
        return Q(
            referring_clinician_id=role.clinician_id, referring_organization_id=role.organization_id
        )

    return _any(value, one)


_APPOINTMENT_STATUS = {}
for _outcome, _code in APPOINTMENT_STATUS.items():
    _APPOINTMENT_STATUS[_code] = _APPOINTMENT_STATUS.get(_code, Q(pk__in=[])) | Q(outcome=_outcome)

FILTERS = {
    "ServiceRequest": {
        "_id": by_id,
        "identifier": lambda value: _any(value, referral_identifier),
        "patient": by_ref("patient_id", "patient", "Patient"),
        "subject": by_ref("patient_id", "subject", "Patient"),
        "status": _code_filter("status", SERVICE_REQUEST_STATUS),
        "requester": referral_requester,
        "performer": by_ref("receiving_clinician_id", "performer", "Practitioner"),
        "authored": by_date("received_at", "authored"),
        "_lastUpdated": by_date("updated_at", "_lastUpdated"),
    },
    "Task": {
        "_id": by_id,
        "patient": by_ref("patient_id", "patient", "Patient"),
        "focus": by_ref("pk", "focus", "ServiceRequest"),
        "status": _code_filter("status", _states_where(0)),
        "business-status": lambda value: _any(
            value, lambda v: _code_filter("business-status", _states_where(1))(token(v)[1])
        ),
        "_lastUpdated": by_date("updated_at", "_lastUpdated"),
    },
    "Patient": {"_id": by_id, "identifier": by_identifier(MRN_SYSTEM, "mrn")},
    "Practitioner": {"_id": by_id, "identifier": by_identifier(NPI_SYSTEM, "npi")},
    "PractitionerRole": {
        "_id": by_id,
        "practitioner": by_ref("clinician_id", "practitioner", "Practitioner"),
        "organization": by_ref("organization_id", "organization", "Organization"),
    },
    "Organization": {"_id": by_id, "identifier": by_identifier(NPI_SYSTEM, "npi")},
    "Appointment": {
        "_id": by_id,
        "patient": by_ref("referral__patient_id", "patient", "Patient"),
        "based-on": by_ref("referral_id", "based-on", "ServiceRequest"),
        "status": _code_filter("status", _APPOINTMENT_STATUS),
        "date": by_date("starts_at", "date"),
    },
    "DocumentReference": {
        "_id": by_id,
        "patient": by_ref("referral__patient_id", "patient", "Patient"),
        "related": by_ref("referral_id", "related", "ServiceRequest"),
    },
    "Communication": {
        "_id": by_id,
        "patient": by_ref("referral__patient_id", "patient", "Patient"),
        "based-on": by_ref("referral_id", "based-on", "ServiceRequest"),
        "sent": by_date("sent_at", "sent"),
    },
    "Coverage": {"_id": by_id, "beneficiary": by_ref("patient_id", "beneficiary", "Patient")},
    "Binary": {},
}


# What a page of rows needs to render (a fixed number of queries whatever the page size) -------


def context_load(*, resource_type: str, rows: list, base_url: str) -> Context:
    ctx = Context(base_url=base_url)
    if resource_type in ("ServiceRequest", "Task", "Communication"):
        referrals = [r.referral if resource_type == "Communication" else r for r in rows]
        pairs = {
            (r.referring_clinician_id, r.referring_organization_id)
            for r in referrals
            if r.referring_clinician_id and r.referring_organization_id
        }
        if pairs:
            roles = ClinicianRole.objects.filter(
                clinician_id__in={c for c, _ in pairs}, organization_id__in={o for _, o in pairs}
            ).values_list("clinician_id", "organization_id", "pk")
            ctx.roles = {(c, o): pk for c, o, pk in roles}
    if resource_type == "Task" and rows:
        sent = ReportSent.objects.filter(referral_id__in=[r.pk for r in rows]).order_by("pk")
        for referral_id, document_id in sent.values_list("referral_id", "document_id"):
            ctx.reports.setdefault(referral_id, []).append(document_id)
    if resource_type == "ServiceRequest" and rows:
        coverages = Coverage.objects.filter(patient_id__in={r.patient_id for r in rows})
        for patient_id, pk in coverages.order_by("-primary", "pk").values_list("patient_id", "pk"):
            ctx.coverages.setdefault(patient_id, []).append(pk)
    return ctx


def reports_awaiting_pull(*, client: ApiClient, document_id: int) -> list[int]:
    """Reports sent to this client through the API, carrying this document, not yet delivered:
    the client fetching the PDF is their delivery."""
    return list(
        ReportSent.objects.filter(
            document_id=document_id,
            delivered_at__isnull=True,
            message__channel="fhir",
            message__to_address=client.client_id,
        ).values_list("pk", flat=True)
    )
