"""Writes through the FHIR API: a transaction Bundle, a BSeR message Bundle ($process-message),
create and update. Everything that could change data is kept as sent (FhirSubmission) first,
then processed, then its outcome recorded; a refusal answers with an OperationOutcome naming
the problem and its place (FHIRPath)."""

from __future__ import annotations

import json

from django.http import HttpResponse
from fhir.resources.R4B import get_fhir_model_class

from refloop.core.errors import DomainError
from refloop.interop.fhir.inbound import answers
from refloop.interop.fhir.inbound.problems import Issue, Rejected
from refloop.interop.fhir.inbound.services import (
    Done,
    Write,
    submission_keep,
    submission_process,
)

ISSUE_CODE = {400: "invalid", 403: "forbidden", 404: "not-found", 409: "conflict"}


def transaction(request, client):
    return _write(request, client, Write("transaction"))


def process_message(request, client):
    return _write(request, client, Write("process-message"))


def create(request, client, resource_type: str):
    if_none_exist = request.headers.get("If-None-Exist", "")
    return _write(request, client, Write("create", resource_type, if_none_exist=if_none_exist))


def update(request, client, resource_type: str, resource_id: str):
    return _write(request, client, Write("update", resource_type, resource_id))


def _write(request, client, write: Write):
    kept = submission_keep(
        client=client,
        interaction=write.interaction,
        content_type=request.headers.get("Content-Type", ""),
        body=request.body,
    )
    try:
        done = submission_process(submission=kept, write=write, client=client)
    except Rejected as refused:
        return _render(request, answers.outcome_resource(refused.issues), status=refused.status)
    except DomainError as error:
        issue = Issue(code=ISSUE_CODE.get(error.status, "processing"), diagnostics=error.message)
        return _render(request, answers.outcome_resource([issue]), status=error.status)
    return _render(request, *_answer(write, done))


def _answer(write: Write, done: Done) -> tuple[dict, int, dict]:
    """(body, status, headers) for what was done."""
    referral = done.referral
    if write.interaction == "transaction":
        return answers.transaction_response(bundle=done.resource, received=done.received), 200, {}
    if write.interaction == "process-message":
        body = answers.message_response(
            header=done.header, received=done.received, unread=done.unread
        )
        return body, 200, {}
    location = {"Location": answers.service_request_location(referral)}
    if write.interaction == "create":
        body = done.resource.model_dump(mode="json", exclude_none=True)
        body["id"] = answers.referral_id(referral)
        body["meta"] = {"versionId": "1"}
        return body, 201 if done.created else 200, location
    said = [Issue(code="informational", diagnostics=done.said)]
    return answers.outcome_resource(said, severity="information"), 200, location


def _wants_xml(request) -> bool:
    """The format asked for (_format, else the first of json/xml in Accept), else the one sent."""
    asked = (request.GET.get("_format", "") or request.headers.get("Accept", "")).lower()
    xml, json_at = asked.find("xml"), asked.find("json")
    if xml >= 0 and (json_at < 0 or xml < json_at):
        return True
    if json_at >= 0:
        return False
    return "xml" in request.headers.get("Content-Type", "")


def _render(request, resource: dict, status: int, headers: dict | None = None):
    if _wants_xml(request):
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        content, media = model.model_dump_xml(), "application/fhir+xml"
    else:
        content, media = json.dumps(resource, separators=(",", ":")), "application/fhir+json"
    response = HttpResponse(content, status=status, content_type=f"{media}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response
