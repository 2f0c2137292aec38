"""Writes through the FHIR API: a transaction Bundle, a BSeR message Bundle ($process-message),
create and update. Everything that could change data is kept as sent (FhirSubmission) first."""

from refloop.interop.fhir.responses import outcome


def transaction(request, client):
    return outcome(status=501, code="not-supported", diagnostics="Transactions are not built yet.")


def process_message(request, client):
    return outcome(status=501, code="not-supported", diagnostics="$process-message is not built.")


def create(request, client, resource_type: str):
    return outcome(
        status=405, code="not-supported", diagnostics=f"{resource_type} create is not supported."
    )


def update(request, client, resource_type: str, resource_id: str):
    return outcome(
        status=405, code="not-supported", diagnostics=f"{resource_type} update is not supported."
    )
