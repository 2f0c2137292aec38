"""Our rows as FHIR R4 resources (JSON dicts), one module per group. Ids are our primary keys
as text: ServiceRequest/<referral pk> and Task/<referral pk> (one Task per referral),
Patient/<pk>, Practitioner/<clinician pk>, PractitionerRole/<clinician role pk>,
Organization/<pk>, Appointment/<pk>, DocumentReference/<document pk> and Binary/<document pk>,
Communication/<report sent pk>, Coverage/<pk>. References are relative ("Patient/12")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

REFERRAL_NUMBER_SYSTEM = "urn:refloop:referral-number"
MRN_SYSTEM = "urn:refloop:mrn"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED_SYSTEM = "http://snomed.info/sct"
LOINC_SYSTEM = "http://loinc.org"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
BSER_BUSINESS_STATUS_SYSTEM = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"
OUTCOME_REASON_SYSTEM = "urn:refloop:outcome-reason"


@dataclass
class Context:
    """What rendering a page of rows needs besides the rows, read once per page (no N+1)."""

    base_url: str
    roles: dict[tuple[int, int], int] = field(default_factory=dict)  # (clinician, org) -> role
    coverages: dict[int, list[int]] = field(default_factory=dict)  # patient -> coverage ids
    reports: dict[int, list[int]] = field(default_factory=dict)  # referral -> report documents


def ref(resource_type: str, pk, display: str | None = None) -> dict:
    reference = {"reference": f"{resource_type}/{pk}"}
    if display:
        reference["display"] = display
    return reference


def instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def meta(updated_at: dt.datetime | None) -> dict:
    return {"meta": {"lastUpdated": instant(updated_at)}} if updated_at else {}


def compact(resource: dict) -> dict:
    """Without empty elements: FHIR forbids empty strings, lists and objects."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}
