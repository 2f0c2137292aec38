"""Every read of a patient, referral or document by a person goes in the access log."""

from refloop.core.models import AccessLogEntry


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def access_log_write(
    *,
    request,
    action: str,
    object_type: str,
    object_id,
    patient_id: int | None = None,
    actor_name: str = "",
    path: str | None = None,
) -> AccessLogEntry:
    """`actor_name` names a reader who is not a signed-in person ("patient-link"); `path` replaces
    the request's when that carries a secret (a link's token must not be readable in the log)."""
    user = request.user
    return AccessLogEntry.objects.create(
        user=user if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else actor_name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        patient_id=patient_id,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        path=(request.path if path is None else path)[:300],
    )


def access_log_write_many(
    *, request, action: str, object_type: str, rows: list[tuple], actor_name: str = ""
) -> None:
    """One entry per (object_id, patient_id) shown, written in one query (lists, search results).
    `actor_name` names a reader who is not a signed-in person (a FHIR client)."""
    user = request.user
    common = dict(
        user=user if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else actor_name,
        action=action,
        object_type=object_type,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        path=request.path[:300],
    )
    AccessLogEntry.objects.bulk_create(
        [AccessLogEntry(object_id=str(oid), patient_id=pid, **common) for oid, pid in rows]
    )
