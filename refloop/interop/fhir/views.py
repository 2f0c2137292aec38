"""The FHIR endpoints: reads and searches here, writes in views_write. Authentication once, in
`endpoint`; a DomainError becomes an OperationOutcome, never an HTML page."""

from __future__ import annotations

from functools import wraps

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from fhir.resources.R4B import get_fhir_model_class

from refloop.core.access_log import access_log_write, access_log_write_many
from refloop.core.errors import DomainError, NotFound
from refloop.interop.fhir import views_write
from refloop.interop.fhir.auth import client_authenticate
from refloop.interop.fhir.capability import (
    SIGNING_ALGORITHMS,
    SMART_CAPABILITIES,
    capability_statement,
    support_of,
)
from refloop.interop.fhir.queries import reports_awaiting_pull
from refloop.interop.fhir.responses import fhir_response, outcome
from refloop.interop.fhir.scopes import scope_require
from refloop.interop.fhir.search import resource_read, resource_row, search_bundle, search_parse
from refloop.interop.fhir.services import access_token_issue
from refloop.interop.fhir.smart import ASSERTION_TYPE, TOKEN_LIFETIME, OAuthError, assertion_check
from refloop.loop.services import report_delivered

ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict"}
FHIR_JSON_TYPES = ("application/fhir+json", "application/json")
FHIR_XML = "application/fhir+xml"


def endpoint(view):
    """Authenticate the client and turn domain errors into OperationOutcomes."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            client = client_authenticate(request)
            return view(request, client, *args, **kwargs)
        except DomainError as error:
            code = ISSUE_CODE.get(error.status, "processing")
            headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
            response = outcome(status=error.status, code=code, diagnostics=error.message)
            for name, value in (headers or {}).items():
                response[name] = value
            return response

    return wrapped


def base_url(request) -> str:
    return request.build_absolute_uri(reverse("fhir_base")).rstrip("/")


def token_url(request) -> str:
    return request.build_absolute_uri(reverse("fhir_token"))


@require_GET
def metadata(request):
    return _answer(
        request, capability_statement(base_url=base_url(request), token_url=token_url(request))
    )


@require_GET
def smart_configuration(request):
    return JsonResponse(
        {
            "token_endpoint": token_url(request),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": ["system/*.cruds", "system/*.rs", "system/*.read"],
            "capabilities": list(SMART_CAPABILITIES),
        }
    )


@csrf_exempt
@require_POST
def token(request):
    """OAuth 2.0 token endpoint for SMART Backend Services (client_credentials, JWT assertion)."""
    form = request.POST
    try:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials.")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
        if not form.get("client_assertion") or not form.get("scope"):
            raise OAuthError("invalid_request", "Send client_assertion and scope.")
        client, claims, expires = assertion_check(
            assertion=form["client_assertion"], token_url=token_url(request)
        )
        access, granted = access_token_issue(
            client=client, jti=str(claims["jti"]), assertion_expires=expires, scope=form["scope"]
        )
    except OAuthError as error:
        status = 401 if error.error == "invalid_client" else error.status
        response = JsonResponse(
            {"error": error.error, "error_description": error.description}, status=status
        )
        response["Cache-Control"] = "no-store"
        return response
    response = JsonResponse(
        {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": granted,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@endpoint
def base(request, client):
    if request.method == "POST":
        # A transaction or message places referrals: it needs ServiceRequest create.
        scope_require(client=client, resource_type="ServiceRequest", interaction="create")
        return views_write.transaction(request, client)
    return outcome(status=405, code="not-supported", diagnostics="POST a transaction Bundle.")


@endpoint
def process_message(request, client):
    scope_require(client=client, resource_type="ServiceRequest", interaction="create")
    return views_write.process_message(request, client)


def _answer(request, resource: dict):
    """JSON, or XML when the client asks for it (Accept or _format): the same resource, passed
    through fhir.resources' R4B model, so XML is never hand-written."""
    wanted = request.headers.get("Accept", "") + " " + request.GET.get("_format", "")
    if "xml" not in wanted:
        return fhir_response(resource)
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return HttpResponse(model.model_dump_xml(), content_type=f"{FHIR_XML}; charset=utf-8")


def _supported(resource_type: str):
    support = support_of(resource_type)
    if support is None:
        raise NotFound(f"Resource type {resource_type} is not supported here (see /metadata).")
    return support


@endpoint
def type_endpoint(request, client, resource_type: str):
    if request.method == "POST":
        scope_require(client=client, resource_type=resource_type, interaction="create")
        return views_write.create(request, client, resource_type)
    if request.method != "GET":
        return outcome(
            status=405, code="not-supported", diagnostics="GET to search, POST to create."
        )
    support = _supported(resource_type)
    if not support.search_type:
        return outcome(
            status=405, code="not-supported", diagnostics=f"{resource_type} has no search."
        )
    scope_require(client=client, resource_type=resource_type, interaction="search")
    lenient = "handling=lenient" in request.headers.get("Prefer", "").replace(" ", "")
    search = search_parse(resource_type=resource_type, params=request.GET, lenient=lenient)
    bundle = search_bundle(client=client, search=search, base_url=base_url(request))
    _log_search(request, client, bundle)
    return _answer(request, bundle)


@endpoint
def instance(request, client, resource_type: str, resource_id: str):
    if request.method == "PUT":
        scope_require(client=client, resource_type=resource_type, interaction="update")
        return views_write.update(request, client, resource_type, resource_id)
    if request.method != "GET":
        return outcome(status=405, code="not-supported", diagnostics="GET to read, PUT to update.")
    _supported(resource_type)
    scope_require(client=client, resource_type=resource_type, interaction="read")
    if resource_type == "Binary":
        return _binary(request, client, resource_id)
    resource = resource_read(
        client=client,
        resource_type=resource_type,
        resource_id=resource_id,
        base_url=base_url(request),
    )
    _log_read(request, client, resource_type, resource)
    return _answer(request, resource)


def _binary(request, client, resource_id: str):
    """The document's own bytes, or a Binary resource when the client asks for FHIR JSON."""
    from refloop.interop.fhir.resources.documents import binary

    document = resource_row(client=client, resource_type="Binary", resource_id=resource_id)
    with document.original.open("rb") as handle:
        content = handle.read()
    _log_read(
        request, client, "Binary", {"id": resource_id}, patient_id=document.referral.patient_id
    )
    # A report sent through the API reached the referrer when its system fetched the PDF.
    for report_sent_id in reports_awaiting_pull(client=client, document_id=document.pk):
        report_delivered(report_sent_id=report_sent_id, at=timezone.now(), actor=None)
    accept = request.headers.get("Accept", "")
    if any(kind in accept for kind in FHIR_JSON_TYPES):
        return fhir_response(binary(document, content))
    return HttpResponse(content, content_type=document.content_type)


def _log_read(request, client, resource_type: str, resource: dict, patient_id=None) -> None:
    # A system reading PHI is logged like a person: by its client id, never with names.
    patient = patient_id or _patient_of(resource)
    access_log_write(
        request=request,
        action="fhir_read",
        object_type=resource_type,
        object_id=resource["id"],
        patient_id=patient,
        actor_name=f"fhir:{client.client_id}",
    )


def _log_search(request, client, bundle: dict) -> None:
    # One insert per resource type on the page (a fixed number of queries whatever its size).
    by_type: dict[str, list[tuple]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        by_type.setdefault(resource["resourceType"], []).append(
            (resource["id"], _patient_of(resource))
        )
    with transaction.atomic():  # one commit for the page's entries
        for resource_type, rows in by_type.items():
            access_log_write_many(
                request=request,
                action="fhir_search",
                object_type=resource_type,
                rows=rows,
                actor_name=f"fhir:{client.client_id}",
            )


def _patient_of(resource: dict) -> int | None:
    if resource.get("resourceType") == "Patient":
        return int(resource["id"])
    references = [resource.get(key) or {} for key in ("subject", "for", "beneficiary")]
    references += [p["actor"] for p in resource.get("participant", []) if "actor" in p]
    for reference in references:
        reference = reference.get("reference", "")
        if reference.startswith("Patient/"):
            return int(reference.split("/", 1)[1])
    return None
