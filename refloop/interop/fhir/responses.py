"""FHIR answers: resources as application/fhir+json, and OperationOutcomes that name the problem."""

from __future__ import annotations

import json

from django.http import HttpResponse

FHIR_JSON = "application/fhir+json"


def fhir_response(resource: dict, *, status: int = 200, headers: dict | None = None):
    response = HttpResponse(
        json.dumps(resource, separators=(",", ":")),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def outcome(
    *, status: int, code: str, diagnostics: str, expression: list[str] | None = None
) -> HttpResponse:
    """One OperationOutcome issue. `code` from the FHIR issue-type value set (invalid, required,
    value, not-supported, not-found, forbidden, login, conflict, duplicate, processing)."""
    issue = {
        "severity": "error" if status >= 400 else "information",
        "code": code,
        "diagnostics": diagnostics,
    }
    if expression:
        issue["expression"] = expression
    return fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, status=status)
