"""Each supported resource type: the rows a client may see, how to fetch them in one query, and
how to render one. Its search filters are queries.FILTERS; what it supports is capability.SUPPORTED
(a test holds the three together)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from refloop.interop.fhir import queries
from refloop.interop.fhir.resources import directory, documents, referrals, visits


@dataclass(frozen=True)
class Kind:
    visible: Callable  # client -> QuerySet
    render: Callable | None  # (row, Context) -> dict
    related: tuple[str, ...] = ()  # select_related: rendering reads no other row


KINDS: dict[str, Kind] = {
    "ServiceRequest": Kind(
        queries.referrals_visible,
        referrals.service_request,
        ("service_line", "receiving_clinician"),
    ),
    "Task": Kind(queries.referrals_visible, referrals.task),
    "Patient": Kind(queries.patients_visible, directory.patient),
    "Practitioner": Kind(queries.clinicians_visible, directory.practitioner),
    "PractitionerRole": Kind(queries.roles_visible, directory.practitioner_role),
    "Organization": Kind(queries.organizations_visible, directory.organization),
    "Coverage": Kind(queries.coverages_visible, directory.coverage),
    "Appointment": Kind(queries.appointments_visible, visits.appointment, ("referral", "slot")),
    "DocumentReference": Kind(
        queries.documents_visible, documents.document_reference, ("referral",)
    ),
    "Communication": Kind(queries.reports_visible, documents.communication, ("referral",)),
    "Binary": Kind(queries.documents_visible, None),
}
