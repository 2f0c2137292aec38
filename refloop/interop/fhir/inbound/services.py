"""The writes a FHIR client can make. Each request is kept as sent (FhirSubmission) and committed
before anything is done with it; then processed; then its outcome recorded. A process that dies
midway leaves the submission 'received', to be replayed."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field

from refloop.access.services import referral_cancel
from refloop.core.errors import DomainError, NotFound
from refloop.interop.fhir.inbound.mapping import (
    documents,
    priority,
    reason_and_diagnoses,
    sender_identifier,
    service_request_submission,
)
from refloop.interop.fhir.inbound.parse import resource_parse
from refloop.interop.fhir.inbound.problems import Issue, Rejected, reject
from refloop.interop.fhir.inbound.references import Resources
from refloop.interop.fhir.models import FhirSubmission
from refloop.interop.fhir.scopes import scope_require
from refloop.referrals.enums import OPEN_STATES, CancelReason, Channel, State
from refloop.referrals.models import Referral
from refloop.referrals.services import document_add, referral_receive, referral_revise

# What a transaction may carry beside its one ServiceRequest: all of it ends up in the referral.
SUPPORTING = frozenset(
    {
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "HealthcareService",
        "Coverage",
        "Condition",
        "DocumentReference",
        "Binary",
        "Task",
    }
)
V2_EVENTS = "http://terminology.hl7.org/CodeSystem/v2-0003"
MESSAGE_EVENTS = ("I12", "I13", "I14")
CANCELLED_BY = {
    "revoked": CancelReason.REFERRER_WITHDREW,
    "entered-in-error": CancelReason.ENTERED_IN_ERROR,
}


@dataclass
class Received:
    referral: Referral
    created: bool
    # Per Bundle entry (or the one resource): the documents stored from it, in order.
    document_ids: list[int] = field(default_factory=list)
    said: str = ""  # a revision or cancellation: what happened, in a sentence


def submission_keep(*, client, interaction: str, content_type: str, body: bytes) -> FhirSubmission:
    """Kept before anything else, in its own committed write (views run in autocommit)."""
    return FhirSubmission.objects.create(
        client=client, interaction=interaction, content_type=content_type[:100], body=body
    )


def submission_settle(
    *,
    submission: FhirSubmission,
    outcome: str,
    problem: str = "",
    referral: Referral | None = None,
    resource_type: str = "",
) -> None:
    FhirSubmission.objects.filter(pk=submission.pk).update(
        outcome=outcome,
        problem=problem,
        referral=referral,
        resource_type=resource_type[:40] or submission.resource_type,
    )


@dataclass(frozen=True)
class Write:
    """What the client asked besides the body: the interaction, the URL's type and id, and a
    conditional create's query (If-None-Exist)."""

    interaction: str  # transaction, process-message, create, update
    resource_type: str = ""
    resource_id: str = ""
    if_none_exist: str = ""


@dataclass
class Done:
    resource: object  # what was sent, parsed
    referral: Referral
    created: bool
    received: Received | None = None
    header: object = None  # $process-message: the request's MessageHeader
    unread: list[str] = field(default_factory=list)
    said: str = ""  # update: what happened, in a sentence


CREATE_HINT = (
    "{kind} is not created on its own: send it in a transaction Bundle with its ServiceRequest "
    "(POST to the base), or in a message Bundle to $process-message."
)
OTHER_HINT = (
    "{kind} is not accepted: this server takes referrals (ServiceRequest) and what they reference."
)


def submission_process(*, submission: FhirSubmission, write: Write, client) -> Done:
    """Parse what was kept, do what it asks, and record the outcome; a refusal is recorded with
    its problem and raised again for the answer."""
    resource_type = ""
    try:
        resource = resource_parse(body=bytes(submission.body), content_type=submission.content_type)
        resource_type = resource.get_resource_type()
        done = write_process(write=write, resource=resource, client=client)
    except DomainError as refused:
        submission_settle(
            submission=submission,
            outcome=FhirSubmission.Outcome.REJECTED,
            problem=refused.message,
            resource_type=resource_type,
        )
        raise
    submission_settle(
        submission=submission,
        outcome=FhirSubmission.Outcome.ACCEPTED
        if done.created
        else FhirSubmission.Outcome.DUPLICATE,
        referral=done.referral,
        resource_type=resource_type,
    )
    return done


def submission_replay(*, submission_id: int) -> FhirSubmission:
    """Process a kept submission again: one refused (say, before its service line existed) or
    left 'received' by a process that died. Accepted ones are left alone. The URL it came to is
    rebuilt from the body (an update's target is the body's id)."""
    submission = FhirSubmission.objects.select_related("client__organization").get(pk=submission_id)
    done_already = (FhirSubmission.Outcome.ACCEPTED, FhirSubmission.Outcome.DUPLICATE)
    if submission.outcome in done_already or submission.client is None:
        return submission
    try:
        resource = resource_parse(body=bytes(submission.body), content_type=submission.content_type)
        target = (resource.get_resource_type(), getattr(resource, "id", None) or "")
    except DomainError:
        target = ("", "")
    write = Write(
        interaction=submission.interaction, resource_type=target[0], resource_id=target[1]
    )
    with suppress(DomainError):  # refused again: the new problem is recorded on it
        submission_process(submission=submission, write=write, client=submission.client)
    submission.refresh_from_db()
    return submission


def write_process(*, write: Write, resource, client) -> Done:
    kind = resource.get_resource_type()
    if write.interaction in ("transaction", "process-message"):
        if kind != "Bundle":
            _refuse_type(kind, f"{write.interaction} takes a Bundle, not a {kind}.", status=422)
        if write.interaction == "transaction":
            received = transaction_receive(bundle=resource, client=client)
            return Done(resource, received.referral, received.created, received=received)
        received, header, unread = message_receive(bundle=resource, client=client)
        return Done(
            resource, received.referral, received.created, received, header=header, unread=unread
        )
    if kind != write.resource_type:
        raise Rejected(
            Issue(
                code="invalid",
                diagnostics=f"the body is a {kind}, the URL says {write.resource_type}.",
                expression="resourceType",
            ),
            status=400,
        )
    if kind != "ServiceRequest":
        hint = CREATE_HINT if kind in SUPPORTING | {"MessageHeader", "Bundle"} else OTHER_HINT
        if write.interaction == "update":
            hint = "{kind} cannot be updated here."
        _refuse_type(kind, hint.format(kind=kind), status=405)
    if write.interaction == "create":
        received = service_request_create(
            service_request=resource, client=client, if_none_exist=write.if_none_exist
        )
        return Done(resource, received.referral, received.created, received=received)
    referral, said = service_request_update(
        client=client, resource_id=write.resource_id, service_request=resource
    )
    return Done(resource, referral, True, said=said)


def _refuse_type(kind: str, message: str, *, status: int):
    raise Rejected(Issue(code="not-supported", diagnostics=message, expression=kind), status=status)


def _receive(placed, client) -> Received:
    try:
        result = referral_receive(submission=placed.submission, actor=None)
    except DomainError as error:
        raise Rejected(Issue(code="business-rule", diagnostics=error.message)) from error
    referral = result.referral
    if not result.created and not placed_by(referral, client):
        # Someone else's referral under the same identifier: never answer with it.
        submission = placed.submission
        raise Rejected(
            Issue(
                code="duplicate",
                diagnostics=f"identifier {submission.sender_system}|"
                f"{submission.sender_reference} is already used by another sender: identify "
                "your referrals in an identifier system of your own.",
                expression="ServiceRequest.identifier",
            ),
            status=409,
        )
    ids = [document.pk for document in result.documents]
    return Received(referral=referral, created=result.created, document_ids=ids)


def transaction_receive(*, bundle, client) -> Received:
    """A transaction Bundle: one ServiceRequest (POST) and what it references, all or nothing."""
    if bundle.type != "transaction":
        hint = {
            "message": "POST message Bundles to $process-message.",
            "batch": "batch Bundles are not supported: send type transaction.",
        }.get(bundle.type, "the base accepts a transaction Bundle with a ServiceRequest.")
        reject(f"type is '{bundle.type}': {hint}", expression="Bundle.type", code="not-supported")
    resources = Resources.of_bundle(bundle)
    entry = _service_request_entry(bundle)
    for found in resources.of_type("Task"):
        resources.resolve(
            found.resource.focus,
            owner=found.resource,
            at=f"{found.path}.focus",
            kinds=("ServiceRequest",),
            required=True,
        )
    placed = service_request_submission(
        resources=resources,
        service_request=entry.resource,
        client=client,
        if_none_exist=entry.request.ifNoneExist or "",
    )
    return _receive(placed, client)


def _service_request_entry(bundle):
    """The one ServiceRequest entry, after checking every entry's type and method."""
    requests = []
    for n, entry in enumerate(bundle.entry or ()):
        kind = entry.resource.get_resource_type()
        at = f"Bundle.entry[{n}]"
        if entry.request is None:
            reject(
                "a transaction entry needs its request (method and url).",
                expression=f"{at}.request",
                code="required",
            )
        if kind != "ServiceRequest" and kind not in SUPPORTING:
            reject(
                f"{kind} is not accepted in a referral transaction; accepted: ServiceRequest, "
                f"{', '.join(sorted(SUPPORTING))}.",
                expression=f"{at}.resource",
                code="not-supported",
            )
        allowed = ("POST",) if kind == "ServiceRequest" else ("POST", "PUT")
        if entry.request.method not in allowed:
            reject(
                f"{entry.request.method} of a {kind} is not supported in a transaction; "
                f"{'/'.join(allowed)} is (revise a referral with PUT ServiceRequest/<id>).",
                expression=f"{at}.request.method",
                code="not-supported",
            )
        if kind == "ServiceRequest":
            requests.append(entry)
    if len(requests) != 1:
        reject(
            f"a referral transaction carries exactly one ServiceRequest; this one has "
            f"{len(requests)}.",
            expression="Bundle.entry",
            code="invariant" if requests else "required",
        )
    return requests[0]


def message_receive(*, bundle, client) -> tuple[Received, object, list[str]]:
    """A BSeR-style message Bundle: MessageHeader first, its event from HL7 v2 table 0003 (I12 a
    new referral, I13 its placer revises it, I14 its placer cancels it), focus the Task whose
    focus is the ServiceRequest (or the ServiceRequest itself). For I12 the sender's Task is its
    request to us: its status must ask for work (requested/ready); its businessStatus is ours to
    set, so what the sender put there is not read (BSeR's example pairs 'requested' with 7.0
    'completed'). I13/I14 name the referral by the ServiceRequest's placer identifier."""
    if bundle.type != "message":
        reject(
            f"type is '{bundle.type}': $process-message takes a message Bundle.",
            expression="Bundle.type",
            code="not-supported",
        )
    entries = bundle.entry or ()
    header = entries[0].resource if entries else None
    if header is None or header.get_resource_type() != "MessageHeader":
        reject(
            "a message Bundle starts with its MessageHeader.",
            expression="Bundle.entry[0]",
            code="required",
        )
    coding = header.eventCoding
    event = coding.code if coding and coding.system == V2_EVENTS else None
    if event not in MESSAGE_EVENTS:
        named = f"{coding.system}#{coding.code}" if coding else header.eventUri
        reject(
            f"event {named} is not supported; we take {V2_EVENTS}#I12 (a new referral), #I13 "
            "(its placer revises it) and #I14 (its placer cancels it).",
            expression="Bundle.entry[0].resource.event",
            code="not-supported",
        )
    resources = Resources.of_bundle(bundle)
    service_request = _message_service_request(resources, header, new=event == "I12")
    unread = [
        f"{found.path} ({found.resource.get_resource_type()})"
        for found in resources.found[1:]
        if found.resource.get_resource_type() not in SUPPORTING | {"ServiceRequest"}
    ]
    if event == "I12":
        placed = service_request_submission(
            resources=resources, service_request=service_request, client=client
        )
        return _receive(placed, client), header, unread
    # Revising or cancelling changes a referral: the update a PUT would need, not create alone.
    scope_require(client=client, resource_type="ServiceRequest", interaction="update")
    referral = _referral_named(resources, service_request, client)
    if event == "I14":
        said = _revoke(referral, CancelReason.REFERRER_WITHDREW, service_request)
    else:
        said = _revise(referral, service_request, resources=resources)
    return Received(referral=referral, created=True, said=said), header, unread


def _message_service_request(resources: Resources, header, *, new: bool):
    at = "Bundle.entry[0].resource"
    if not header.focus:
        reject(
            "the MessageHeader's focus names the referral's Task or ServiceRequest.",
            expression=f"{at}.focus",
            code="required",
        )
    focus = resources.resolve(
        header.focus[0],
        owner=header,
        at=f"{at}.focus[0]",
        kinds=("Task", "ServiceRequest"),
        required=True,
    )
    if focus.get_resource_type() == "ServiceRequest":
        return focus
    task_at = resources.path(focus)
    if new and focus.status not in ("requested", "ready"):
        reject(
            f"the referral Task must be requested or ready, not '{focus.status}'.",
            expression=f"{task_at}.status",
        )
    return resources.resolve(
        focus.focus,
        owner=focus,
        at=f"{task_at}.focus",
        kinds=("ServiceRequest",),
        required=True,
    )


def _referral_named(resources: Resources, service_request, client) -> Referral:
    """The client's own referral with the ServiceRequest's placer identifier."""
    at = resources.path(service_request)
    system, value = sender_identifier(service_request, at=at, if_none_exist="")
    if not value:
        reject(
            "name the referral to change by its placer identifier.",
            expression=f"{at}.identifier",
            code="required",
        )
    referral = Referral.objects.filter(
        sender_system=system or client.client_id, sender_reference=value
    ).first()
    if referral is None or not placed_by(referral, client):
        reject(
            f"no referral of yours has the identifier {system + '|' if system else ''}{value}.",
            expression=f"{at}.identifier",
            code="not-found",
        )
    return referral


def service_request_create(*, service_request, client, if_none_exist: str = "") -> Received:
    """POST ServiceRequest on its own: what it references must be contained in it."""
    resources = Resources.of_resource(service_request)
    placed = service_request_submission(
        resources=resources,
        service_request=service_request,
        client=client,
        if_none_exist=if_none_exist,
    )
    return _receive(placed, client)


def placed_by(referral: Referral, client) -> bool:
    """Placed through the API on behalf of the client's organization (we file every FHIR
    referral under the organization its client acts for)."""
    return (
        referral.channel == Channel.FHIR
        and referral.referring_organization_id == client.organization_id
    )


def placed_referral(*, client, resource_id: str) -> Referral:
    """The client's own referral; another's (or none) is not found: 404, never 403."""
    pk = Referral.pk_from_number(resource_id)
    referral = Referral.objects.filter(pk=pk).first() if pk else None
    if referral is not None and not placed_by(referral, client):
        referral = None
    if referral is None:
        raise NotFound(f"ServiceRequest/{resource_id} is not known.")
    return referral


def service_request_update(*, client, resource_id: str, service_request) -> tuple[Referral, str]:
    """PUT ServiceRequest/<id> from its placer: revoked (or entered-in-error) cancels the
    referral; a changed priority, reason or diagnoses revises it; a new contained document is
    added. Returns the referral and a sentence saying what happened."""
    sr = service_request
    if sr.id and sr.id != resource_id:
        reject(
            f"the body's id '{sr.id}' is not the id in the URL '{resource_id}'.",
            expression="ServiceRequest.id",
            code="invariant",
            status=400,
        )
    referral = placed_referral(client=client, resource_id=resource_id)
    if sr.status in CANCELLED_BY:
        return referral, _revoke(referral, CANCELLED_BY[sr.status], sr)
    if sr.status != "active":
        reject(
            f"a placer may set status active, revoked or entered-in-error, not '{sr.status}'.",
            expression="ServiceRequest.status",
            code="not-supported",
        )
    return referral, _revise(referral, sr)


def _ended(referral: Referral, doing: str):
    raise Rejected(
        Issue(
            code="conflict",
            diagnostics=f"{referral.number} is {referral.get_state_display().lower()}; it can no "
            f"longer be {doing}.",
            expression="ServiceRequest.status",
        ),
        status=409,
    )


def _revoke(referral: Referral, reason: str, sr) -> str:
    if referral.state == State.CANCELLED:
        return f"{referral.number} was already cancelled."
    if referral.state not in OPEN_STATES or referral.state == State.COMPLETED:
        _ended(referral, "revoked")
    note = "\n".join(n.text for n in sr.note or () if n.text)
    referral_cancel(referral_id=referral.pk, reason=reason, actor=None, note=note)
    return f"{referral.number} cancelled: {CancelReason(reason).label.lower()}."


def _revise(referral: Referral, sr, *, resources: Resources | None = None) -> str:
    if referral.state not in OPEN_STATES:
        _ended(referral, "revised")
    resources = resources or Resources.of_resource(sr)
    reason, diagnoses = reason_and_diagnoses(resources=resources, service_request=sr)
    wanted_priority = priority(sr, at="ServiceRequest") if sr.priority else None
    try:
        revised = referral_revise(
            referral_id=referral.pk,
            actor=None,
            priority=wanted_priority,
            reason=reason or None,
            diagnoses=diagnoses or None,
        )
    except DomainError as error:
        if error.code == "not_open":
            _ended(referral, "revised")
        raise Rejected(Issue(code="business-rule", diagnostics=error.message)) from error
    added = _documents_add(referral, documents(resources=resources))
    changed = revised.version != referral.version
    parts = ["revised" if changed else "unchanged"]
    if added:
        parts.append(f"{added} document(s) added")
    return f"{referral.number} " + ", ".join(parts) + "."


def _documents_add(referral: Referral, incoming) -> int:
    """Documents not already on the referral (compared by their bytes: a PUT repeats them)."""
    have = {}
    for document in referral.documents.all():
        have.setdefault(document.size, []).append(document)
    added = 0
    for item in incoming:
        same = [d for d in have.get(len(item.content), []) if _bytes_of(d) == item.content]
        if same:
            continue
        try:
            document_add(referral_id=referral.pk, incoming=item, actor=None)
        except DomainError as error:
            raise Rejected(Issue(code="business-rule", diagnostics=error.message)) from error
        added += 1
    return added


def _bytes_of(document) -> bytes:
    with document.original.open("rb") as handle:
        return handle.read()
