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
from refloop.interop.fhir.inbound.parse import resource_parse
from refloop.interop.fhir.inbound.problems import Issue, Rejected
from refloop.interop.fhir.inbound.services import (
    SUPPORTING,
    message_receive,
    service_request_create,
    service_request_update,
    submission_keep,
    submission_settle,
    transaction_receive,
)
from refloop.interop.fhir.models import FhirSubmission

Outcome = FhirSubmission.Outcome
PART_OF_A_REFERRAL = SUPPORTING | {"MessageHeader", "Bundle"}
CREATE_HINT = (
    "{kind} is not created on its own: send it in a transaction Bundle with its ServiceRequest "
    "(POST to the base), or in a message Bundle to $process-message."
)
OTHER_HINT = (
    "{kind} is not accepted: this server takes referrals (ServiceRequest) and what they reference."
)


def transaction(request, client):
    def handle(resource):
        if resource.get_resource_type() != "Bundle":
            _refuse_type(resource, "The base takes a transaction Bundle.", status=422)
        received = transaction_receive(bundle=resource, client=client)
        body = answers.transaction_response(bundle=resource, received=received)
        return received, 200, body, {}

    return _write(request, client, "transaction", handle)


def process_message(request, client):
    def handle(resource):
        if resource.get_resource_type() != "Bundle":
            _refuse_type(resource, "$process-message takes a message Bundle.", status=422)
        received, header, unread = message_receive(bundle=resource, client=client)
        body = answers.message_response(header=header, received=received, unread=unread)
        return received, 200, body, {}

    return _write(request, client, "process-message", handle)


def create(request, client, resource_type: str):
    def handle(resource):
        _same_type(resource, resource_type)
        if resource_type != "ServiceRequest":
            hint = CREATE_HINT if resource_type in PART_OF_A_REFERRAL else OTHER_HINT
            _refuse_type(resource, hint.format(kind=resource_type), status=405)
        received = service_request_create(
            service_request=resource,
            client=client,
            if_none_exist=request.headers.get("If-None-Exist", ""),
        )
        body = resource.model_dump(mode="json", exclude_none=True)
        body["id"] = answers.referral_id(received.referral)
        body["meta"] = {"versionId": "1"}
        location = answers.service_request_location(received.referral)
        return received, 201 if received.created else 200, body, {"Location": location}

    return _write(request, client, "create", handle)


def update(request, client, resource_type: str, resource_id: str):
    def handle(resource):
        _same_type(resource, resource_type)
        if resource_type != "ServiceRequest":
            _refuse_type(resource, f"{resource_type} cannot be updated here.", status=405)
        referral, said = service_request_update(
            client=client, resource_id=resource_id, service_request=resource
        )
        body = answers.outcome_resource(
            [Issue(code="informational", diagnostics=said)], severity="information"
        )
        return referral, 200, body, {"Location": answers.service_request_location(referral)}

    return _write(request, client, "update", handle)


def _same_type(resource, resource_type: str) -> None:
    if resource.get_resource_type() != resource_type:
        raise Rejected(
            Issue(
                code="invalid",
                diagnostics=f"the body is a {resource.get_resource_type()}, the URL says "
                f"{resource_type}.",
                expression="resourceType",
            ),
            status=400,
        )


def _refuse_type(resource, message: str, *, status: int):
    raise Rejected(
        Issue(code="not-supported", diagnostics=message, expression=resource.get_resource_type()),
        status=status,
    )


def _write(request, client, interaction: str, handle):
    content_type = request.headers.get("Content-Type", "")
    kept = submission_keep(
        client=client, interaction=interaction, content_type=content_type, body=request.body
    )
    resource_type = ""
    try:
        resource = resource_parse(body=request.body, content_type=content_type)
        resource_type = resource.get_resource_type()
        received, status, body, headers = handle(resource)
    except Rejected as refused:
        submission_settle(
            submission=kept,
            outcome=Outcome.REJECTED,
            problem=refused.message,
            resource_type=resource_type,
        )
        return _render(request, answers.outcome_resource(refused.issues), status=refused.status)
    except DomainError as error:
        submission_settle(
            submission=kept,
            outcome=Outcome.REJECTED,
            problem=error.message,
            resource_type=resource_type,
        )
        issue = Issue(code=_ISSUE_CODE.get(error.status, "processing"), diagnostics=error.message)
        return _render(request, answers.outcome_resource([issue]), status=error.status)
    referral = getattr(received, "referral", received)
    created = getattr(received, "created", True)
    submission_settle(
        submission=kept,
        outcome=Outcome.ACCEPTED if created else Outcome.DUPLICATE,
        referral=referral,
        resource_type=resource_type,
    )
    return _render(request, body, status=status, headers=headers)


_ISSUE_CODE = {400: "invalid", 403: "forbidden", 404: "not-found", 409: "conflict"}


def _wants_xml(request) -> bool:
    """The format asked for (_format, else the first of json/xml in Accept), else the one sent."""
    asked = (request.GET.get("_format", "") or request.headers.get("Accept", "")).lower()
    xml, json_at = asked.find("xml"), asked.find("json")
    if xml >= 0 and (json_at < 0 or xml < json_at):
        return True
    if json_at >= 0:
        return False
    return "xml" in request.headers.get("Content-Type", "")


def _render(request, resource: dict, *, status: int, headers: dict | None = None):
    if _wants_xml(request):
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        content, media = model.model_dump_xml(), "application/fhir+xml"
    else:
        content, media = json.dumps(resource, separators=(",", ":")), "application/fhir+json"
    response = HttpResponse(content, status=status, content_type=f"{media}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response
