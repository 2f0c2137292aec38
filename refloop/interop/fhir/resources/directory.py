"""Patient, Practitioner, PractitionerRole, Organization and Coverage from the directory."""

from __future__ import annotations

from refloop.directory.models import Clinician, ClinicianRole, Coverage, Organization, Patient
from refloop.interop.fhir.resources import MRN_SYSTEM, NPI_SYSTEM, Context, compact, ref


def _telecom(**values) -> list[dict]:
    return [{"system": system, "value": value} for system, value in values.items() if value]


def _address(row) -> list[dict]:
    address = compact(
        {
            "line": [row.address] if row.address else [],
            "city": row.city,
            "state": row.state,
            "postalCode": row.postal_code,
        }
    )
    return [address] if address else []


def patient(row: Patient, ctx: Context) -> dict:
    return compact(
        {
            "resourceType": "Patient",
            "id": str(row.pk),
            "identifier": [{"system": MRN_SYSTEM, "value": row.mrn}] if row.mrn else [],
            "name": [{"family": row.last_name, "given": [row.first_name]}],
            "gender": row.sex,  # our choices are FHIR's administrative genders
            "birthDate": row.birth_date.isoformat(),
            "telecom": _telecom(phone=row.phone, email=row.email),
            "address": _address(row),
            "communication": [{"language": {"text": row.preferred_language}}]
            if row.preferred_language
            else [],
        }
    )


def practitioner(row: Clinician, ctx: Context) -> dict:
    name = compact(
        {
            "family": row.last_name,
            "given": [row.first_name],
            "suffix": [row.credentials] if row.credentials else [],
        }
    )
    return compact(
        {
            "resourceType": "Practitioner",
            "id": str(row.pk),
            "identifier": [{"system": NPI_SYSTEM, "value": row.npi}] if row.npi else [],
            "name": [name],
            "telecom": _telecom(phone=row.phone, fax=row.fax, email=row.email),
        }
    )


def practitioner_role(row: ClinicianRole, ctx: Context) -> dict:
    return {
        "resourceType": "PractitionerRole",
        "id": str(row.pk),
        "active": row.active,
        "practitioner": ref("Practitioner", row.clinician_id),
        "organization": ref("Organization", row.organization_id),
        "code": [{"text": row.title}],
    }


def organization(row: Organization, ctx: Context) -> dict:
    return compact(
        {
            "resourceType": "Organization",
            "id": str(row.pk),
            "active": True,
            "identifier": [{"system": NPI_SYSTEM, "value": row.npi}] if row.npi else [],
            "name": row.name,
            "type": [{"text": row.get_kind_display()}],
            "telecom": _telecom(phone=row.phone, fax=row.fax),
            "address": _address(row),
        }
    )


def coverage(row: Coverage, ctx: Context) -> dict:
    plan = {
        "type": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}
            ]
        },
        "value": row.plan,
        "name": row.plan,
    }
    return compact(
        {
            "resourceType": "Coverage",
            "id": str(row.pk),
            "status": "active",
            "subscriberId": row.member_id,
            "beneficiary": ref("Patient", row.patient_id),
            "payor": [{"display": row.payer}],
            "class": [plan] if row.plan else [],
            "order": 1 if row.primary else 2,
        }
    )
