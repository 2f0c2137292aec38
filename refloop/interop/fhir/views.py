"""The FHIR endpoints: reads and searches here, writes in views_write. Authentication once, in
`endpoint`; a DomainError becomes an OperationOutcome, never an HTML page."""

from __future__ import annotations

from functools import wraps

from django.views.decorators.csrf import csrf_exempt

from refloop.core.errors import DomainError
from refloop.interop.fhir import views_write
from refloop.interop.fhir.auth import client_authenticate
from refloop.interop.fhir.responses import outcome

ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict"}


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
            return outcome(status=error.status, code=code, diagnostics=error.message)

    return wrapped


def metadata(request):
    return outcome(status=501, code="not-supported", diagnostics="Not built yet.")


@endpoint
def base(request, client):
    if request.method == "POST":
        return views_write.transaction(request, client)
    return outcome(status=405, code="not-supported", diagnostics="POST a transaction Bundle.")


@endpoint
def process_message(request, client):
    return views_write.process_message(request, client)


@endpoint
def type_endpoint(request, client, resource_type: str):
    if request.method == "POST":
        return views_write.create(request, client, resource_type)
    return outcome(status=501, code="not-supported", diagnostics="Search is not built yet.")


@endpoint
def instance(request, client, resource_type: str, resource_id: str):
    if request.method == "PUT":
        return views_write.update(request, client, resource_type, resource_id)
    return outcome(status=501, code="not-supported", diagnostics="Read is not built yet.")
