"""One way in (DESIGN.md): every channel builds a ReferralSubmission and calls referral_receive."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from refloop.core.calendar import BusinessCalendar, calendar_memoized
from refloop.core.errors import DomainError, NotFound
from refloop.directory.models import Clinician, ClinicianRole, Coverage, Patient, ServiceLine
from refloop.directory.validators import validate_icd10cm, validate_npi
from refloop.referrals import clocks
from refloop.referrals.enums import (
    OPEN_STATES,
    WAITING_BLOCKERS,
    BlockerKind,
    Channel,
    ChecklistStatus,
    EventKind,
    Priority,
    State,
)
from refloop.referrals.models import (
    ChecklistItem,
    Document,
    Referral,
    ReferralBlocker,
    ReferralClock,
    ReferralEvent,
)
from refloop.referrals.queries import LineRules, line_rules
from refloop.referrals.services.documents import (
    IncomingDocument,
    document_check,
    document_copy,
    document_store,
    files_removed_on_failure,
)
from refloop.referrals.services.lifecycle import (
    event_append,
    referral_claim,
    referral_transition,
    require,
)


@dataclass(frozen=True)
class PatientData:
    first_name: str
    last_name: str
    birth_date: dt.date
    sex: str = Patient.Sex.UNKNOWN
    mrn: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_language: str = "English"
    interpreter_needed: bool = False
    sms_consent: bool = False
    email_consent: bool = False
    payer: str = ""
    plan: str = ""
    member_id: str = ""


@dataclass(frozen=True)
class ReferrerData:
    """The referring clinician as the sender gave them; matched to the directory by NPI."""

    npi: str = ""
    name: str = ""
    organization_name: str = ""
    clinician_id: int | None = None
    organization_id: int | None = None


@dataclass(frozen=True)
class ReferralSubmission:
    patient: PatientData
    referrer: ReferrerData
    service_line_id: int
    reason: str
    channel: str
    priority: str = Priority.ROUTINE
    diagnoses: tuple[str, ...] = ()
    receiving_clinician_id: int | None = None
    sender_system: str = ""
    sender_reference: str = ""
    received_at: dt.datetime | None = None
    documents: tuple[IncomingDocument, ...] = field(default_factory=tuple)
    assignee_id: int | None = None


@dataclass
class ReceiveResult:
    referral: Referral
    created: bool
    # Other open referrals of this patient to the same service line, for a person to decide.
    possible_duplicates: list[Referral]
    # A new referral's documents, in the order they came (a resend stores none).
    documents: list[Document] = field(default_factory=list)


def submission_check(submission: ReferralSubmission, *, rules: LineRules) -> None:
    """Everything that can be refused is refused before anything is written."""
    problems = submission_problems(submission, line_active=rules.active)
    if problems:
        raise DomainError(" ".join(problems), code="invalid_submission")


# Looked up for every submission: Django's `.values` builds a new list each time.
PRIORITIES, CHANNELS = frozenset(Priority.values), frozenset(Channel.values)


def submission_problems(
    submission: ReferralSubmission, *, line_active: bool, today: dt.date | None = None
) -> list[str]:
    """What is wrong with a submission, without a query (the bulk path checks thousands at once
    and looks the service lines up once, and today's date)."""
    problems = []
    if not submission.reason.strip():
        problems.append("Give the reason for the referral.")
    if submission.priority not in PRIORITIES:
        problems.append(f"Unknown priority '{submission.priority}'.")
    if submission.channel not in CHANNELS:
        problems.append(f"Unknown channel '{submission.channel}'.")
    if not line_active:
        problems.append("Choose an active service line.")
    patient = submission.patient
    if not (patient.first_name.strip() and patient.last_name.strip()):
        problems.append("The patient's first and last name are needed.")
    if patient.birth_date > (today or timezone.localdate()):
        problems.append("The patient's date of birth is in the future.")
    for code in submission.diagnoses:
        try:
            validate_icd10cm(code)
        except ValidationError as exc:
            problems.extend(exc.messages)
    for incoming in submission.documents:
        try:
            document_check(incoming)
        except DomainError as exc:
            problems.append(exc.message)
    return problems


def referral_receive(*, submission: ReferralSubmission, actor) -> ReceiveResult:
    require(actor, "receive_referral")
    rules = line_rules(service_line_id=submission.service_line_id, priority=submission.priority)
    submission_check(submission, rules=rules)
    resent = _resent(submission)
    if resent:
        return ReceiveResult(referral=resent, created=False, possible_duplicates=[])
    try:
        with files_removed_on_failure(), transaction.atomic():
            return _receive(submission, actor, rules)
    except IntegrityError:
        # The same message raced in twice: the other copy won; answer with its referral.
        resent = _resent(submission)
        if resent is None:
            raise
        return ReceiveResult(referral=resent, created=False, possible_duplicates=[])


def _resent(submission: ReferralSubmission) -> Referral | None:
    if not submission.sender_reference:
        return None
    return Referral.objects.filter(
        sender_system=submission.sender_system, sender_reference=submission.sender_reference
    ).first()


def _receive(submission: ReferralSubmission, actor, rules: LineRules) -> ReceiveResult:
    received_at = submission.received_at or timezone.now()
    patient, new_patient = patient_match(submission.patient)
    clinician, organization_id = referrer_match(submission.referrer)
    duplicates = (
        []
        if new_patient
        else list(
            Referral.objects.filter(
                patient=patient, service_line_id=submission.service_line_id, state__in=OPEN_STATES
            )
        )
    )
    start = start_plan(
        rules=rules,
        priority=submission.priority,
        at=received_at,
        clinician=clinician,
        document_kinds=[incoming.kind for incoming in submission.documents],
    )
    next_due_at, next_at_risk_at = start.book.next_times()
    # Born with its due times and blocker count: no UPDATE after the clocks.
    referral = Referral.objects.create(
        patient=patient,
        referring_clinician=clinician,
        referring_organization_id=organization_id,
        referrer_as_given=referrer_text(submission.referrer),
        service_line_id=submission.service_line_id,
        receiving_clinician_id=submission.receiving_clinician_id,
        priority=submission.priority,
        reason=submission.reason.strip(),
        diagnoses=[code.upper() for code in submission.diagnoses],
        channel=submission.channel,
        sender_system=submission.sender_system,
        sender_reference=submission.sender_reference,
        assignee_id=submission.assignee_id,
        state=State.RECEIVED,
        received_at=received_at,
        next_check_at=received_at,
        state_changed_at=received_at,
        next_due_at=next_due_at,
        next_at_risk_at=next_at_risk_at,
        open_blocker_count=len(start.blockers),
    )
    documents = [
        document_store(referral=referral, incoming=incoming, actor=actor)
        for incoming in submission.documents
    ]
    details = {"possible_duplicates": [d.pk for d in duplicates]} if duplicates else {}
    start_write(start, referral=referral, actor=actor, documents=documents, details=details)
    return ReceiveResult(
        referral=referral, created=True, possible_duplicates=duplicates, documents=documents
    )


@dataclass
class Start:
    """A new referral's beginning, worked out in memory before anything is written: its
    checklist (each item with the index of the document that ticks it, or None), its first
    blockers and its clocks."""

    checklist: list[tuple[ChecklistItem, int | None]]
    blockers: list[str]
    book: clocks.ClockBook


def start_plan(
    *,
    rules: LineRules,
    priority: str,
    at: dt.datetime,
    clinician: Clinician | None,
    document_kinds: list[str],
) -> Start:
    checklist = _checklist_ticked(rules.checklist, document_kinds)
    blockers = initial_blocker_kinds(
        records_missing=any(ticked is None for _, ticked in checklist), clinician=clinician
    )
    book = clocks.ClockBook(
        referral_id=None,
        priority=priority,
        targets=rules.targets,
        calendar=calendar_with(rules.closures),
    )
    clocks_start(book, at=at, blockers=blockers)
    return Start(checklist=checklist, blockers=blockers, book=book)


def start_write(
    start: Start, *, referral: Referral, actor, documents: list[Document], details: dict
) -> None:
    """Written one INSERT per table: a new referral is the hot path of every way in."""
    at = referral.received_at
    for item, ticked in start.checklist:
        item.referral = referral
        if ticked is not None:
            item.status, item.document = ChecklistStatus.RECEIVED, documents[ticked]
            item.updated_at = timezone.now()
    ChecklistItem.objects.bulk_create(item for item, _ in start.checklist)
    ReferralBlocker.objects.bulk_create(
        ReferralBlocker(referral=referral, kind=kind, opened_at=at) for kind in start.blockers
    )
    received = ReferralEvent(kind=EventKind.RECEIVED, to_state=State.RECEIVED,
                             code=referral.channel, details=details)  # fmt: skip
    opened = [ReferralEvent(kind=EventKind.BLOCKER_OPENED, code=kind) for kind in start.blockers]
    ReferralEvent.objects.bulk_create(
        _stamped(event, referral=referral, actor=actor, at=at) for event in [received, *opened]
    )
    for clock in start.book.clocks.values():
        clock.referral = referral
    ReferralClock.objects.bulk_create(start.book.clocks.values())
    start.book.changed.clear()


def referral_start(*, referral: Referral, actor, documents: list[Document], details: dict) -> None:
    """What every new referral gets: the received event, its checklist ticked by the documents it
    came with, its first blockers and its clocks (a referral made before its start is known: a
    redirect's; referral_receive plans the start first and writes the referral with it)."""
    rules = line_rules(service_line_id=referral.service_line_id, priority=referral.priority)
    start = start_plan(
        rules=rules,
        priority=referral.priority,
        at=referral.received_at,
        clinician=referral.referring_clinician,
        document_kinds=[document.kind for document in documents],
    )
    start_write(start, referral=referral, actor=actor, documents=documents, details=details)
    referral.open_blocker_count = len(start.blockers)
    referral.next_due_at, referral.next_at_risk_at = start.book.next_times()
    Referral.objects.filter(pk=referral.pk).update(
        next_due_at=referral.next_due_at,
        next_at_risk_at=referral.next_at_risk_at,
        open_blocker_count=referral.open_blocker_count,
    )


def _checklist_ticked(
    template: tuple[tuple[str, str], ...], document_kinds: list[str]
) -> list[tuple[ChecklistItem, int | None]]:
    """The service line's checklist, each document ticking the first item of its kind."""
    items = [[ChecklistItem(name=name, document_kind=kind), None] for name, kind in template]
    for index, kind in enumerate(document_kinds):
        for item in items:
            if item[1] is None and item[0].document_kind == kind:
                item[1] = index
                break
    return [(item, ticked) for item, ticked in items]


def calendar_with(closures: frozenset[dt.date]) -> BusinessCalendar:
    """The practice calendar with these closures, kept per process while they (and the time
    zone) stay the same: its holiday table and day answers are built once per process instead
    of once per referral. The closures themselves are read with every referral (line_rules), so
    a change applies to the next one."""
    return _calendar(closures, settings.TIME_ZONE)


@functools.lru_cache(maxsize=8)
def _calendar(closures: frozenset[dt.date], time_zone: str) -> BusinessCalendar:
    calendar = calendar_memoized(BusinessCalendar(closures=closures))
    # Shared by a server's threads: the holiday table fills a year on its first lookup, and a
    # lookup racing that fill could answer "not a holiday" (and be remembered). One at a time.
    lock, answer = threading.Lock(), calendar.is_business_day

    def is_business_day(day: dt.date) -> bool:
        with lock:
            return answer(day)

    calendar.is_business_day = is_business_day
    return calendar


def _stamped(event: ReferralEvent, *, referral, actor, at) -> ReferralEvent:
    event.referral, event.actor, event.occurred_at = referral, actor, at
    return event


def clocks_start(book: clocks.ClockBook, *, at: dt.datetime, blockers: list[str]) -> None:
    """A new referral's clocks: started on arrival, paused at once if it waits on others."""
    clocks.on_received(book, at)
    if waits_on_others(blockers):
        clocks.on_waiting_changed(book, waiting=True, at=at)


def waits_on_others(blockers: list[str]) -> bool:
    """Whether a referral with these blockers waits on others (its clocks pause)."""
    return not WAITING_BLOCKERS.isdisjoint(blockers)


@transaction.atomic
def referral_redirect(
    *,
    referral_id: int,
    reason: str,
    actor,
    service_line_id: int | None = None,
    note: str = "",
    occurred_at: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Referral:
    """The referral ends as redirected. Sent on to another of our service lines, it becomes a new
    referral there (DESIGN.md, lifecycle) with the same patient, referrer, reason and documents,
    and the old one points at it; sent to an outside provider, it just ends."""
    if (
        service_line_id is not None
        and not ServiceLine.objects.filter(pk=service_line_id, active=True).exists()
    ):
        raise DomainError("Choose an active service line.", code="service_line")
    old = referral_transition(
        referral_id=referral_id,
        to_state=State.REDIRECTED,
        actor=actor,
        reason=reason,
        note=note,
        occurred_at=occurred_at,
        expected_version=expected_version,
        details={"service_line_id": service_line_id} if service_line_id else {},
    )
    if service_line_id is None or service_line_id == old.service_line_id:
        return old
    new = Referral.objects.create(
        **{name: getattr(old, name) for name in REDIRECT_KEEPS},
        service_line_id=service_line_id,
        state=State.RECEIVED,
        received_at=old.state_changed_at,
        state_changed_at=old.state_changed_at,
        next_check_at=old.state_changed_at,
    )
    documents = [document_copy(document=d, referral=new) for d in old.documents.all()]
    referral_start(
        referral=new, actor=actor, documents=documents, details={"redirected_from": old.pk}
    )
    Referral.objects.filter(pk=old.pk).update(redirected_to=new)
    old.redirected_to = new
    return old


@transaction.atomic
def referral_revise(
    *,
    referral_id: int,
    actor,
    priority: str | None = None,
    reason: str | None = None,
    diagnoses: tuple[str, ...] | None = None,
    note: str = "",
    occurred_at: dt.datetime | None = None,
) -> Referral:
    """The sender revised its referral (an HL7 REF^I13, a FHIR ServiceRequest update): what it may
    change is what it told us. Only an open referral can be revised; a revision that changes
    nothing writes nothing. The clocks keep the targets they started with: the sender changing
    its mind about priority does not move a deadline already running."""
    require(actor, "receive_referral")
    changes = {}
    if priority is not None and priority not in Priority.values:
        raise DomainError(f"Unknown priority '{priority}'.", code="invalid_submission")
    for code in diagnoses or ():
        try:
            validate_icd10cm(code)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), code="invalid_submission") from exc
    referral = Referral.objects.filter(pk=referral_id).first()
    if referral is None:
        raise NotFound("No such referral.")
    if referral.state not in OPEN_STATES:
        raise DomainError(
            f"{referral.number} is {referral.get_state_display().lower()}; it cannot be revised.",
            code="not_open",
        )
    wanted = {
        "priority": priority,
        "reason": reason.strip() if reason is not None else None,
        "diagnoses": [c.upper() for c in diagnoses] if diagnoses is not None else None,
    }
    for name, value in wanted.items():
        if value is not None and value != getattr(referral, name):
            changes[name] = {"from": getattr(referral, name), "to": value}
    if not changes and not note:
        return referral
    referral = referral_claim(referral_id=referral_id)
    for name, change in changes.items():
        setattr(referral, name, change["to"])
    referral.save(update_fields=[*changes, "updated_at"] if changes else ["updated_at"])
    event_append(
        referral=referral,
        kind=EventKind.REVISED,
        actor=actor,
        occurred_at=occurred_at or timezone.now(),
        note=note,
        details={"changes": changes},
    )
    return referral


# What a redirected referral carries over to the new one.
REDIRECT_KEEPS = (
    "patient",
    "referring_clinician",
    "referring_organization",
    "referrer_as_given",
    "priority",
    "reason",
    "diagnoses",
    "channel",
)


def initial_blocker_kinds(*, records_missing: bool, clinician: Clinician | None) -> list[str]:
    blockers = []
    if records_missing:
        blockers.append(BlockerKind.MISSING_RECORDS)
    if clinician is None or not clinician.verified:
        blockers.append(BlockerKind.REFERRER_NOT_VERIFIED)
    return blockers


def referrer_text(referrer: ReferrerData) -> str:
    parts = [
        referrer.name,
        f"NPI {referrer.npi}" if referrer.npi else "",
        referrer.organization_name,
    ]
    return " · ".join(p for p in parts if p)[:300]


# A sender's MRN may be its own numbering: never file a referral on another person. The MRN is
# not repeated: this text is shown on lists that write no access log (HL7 messages).
MRN_ELSEWHERE = (
    "The MRN belongs to a patient with another date of birth here: check the MRN and the date "
    "of birth."
)


def patient_match(data: PatientData) -> tuple[Patient, bool]:
    """Same MRN, or same name and date of birth, is the same patient; otherwise a new one (and
    True: a new patient has no coverage and no open referral to look up)."""
    patient = None
    if data.mrn:
        patient = Patient.objects.filter(mrn=data.mrn).first()
        if patient is not None and patient.birth_date != data.birth_date:
            raise DomainError(MRN_ELSEWHERE, code="mrn_mismatch")
    if patient is None:
        patient = Patient.objects.filter(
            first_name__iexact=data.first_name.strip(),
            last_name__iexact=data.last_name.strip(),
            birth_date=data.birth_date,
        ).first()
    created = patient is None
    if created:
        patient = Patient.objects.create(**patient_fields(data))
    if data.member_id and (
        created or not patient.coverages.filter(member_id=data.member_id).exists()
    ):
        Coverage.objects.create(
            patient=patient, payer=data.payer, plan=data.plan, member_id=data.member_id
        )
    return patient, created


def patient_fields(data: PatientData) -> dict:
    """A new patient's columns, as given (coverage goes in its own table)."""
    fields = dict(vars(data))  # its fields, copied in C (a file import makes millions)
    for name in ("payer", "plan", "member_id"):
        del fields[name]
    fields["mrn"] = data.mrn or None
    return fields


def referrer_match(data: ReferrerData) -> tuple[Clinician | None, int | None]:
    """The directory clinician and the referring organization's id: the one given (every
    channel gives one of its own rows: a client's, a partner's, a form's choice), else the
    clinician's practice, read with the clinician."""
    clinicians = Clinician.objects.all()
    if not data.organization_id:
        first_role = ClinicianRole.objects.filter(clinician=OuterRef("pk")).order_by("id")
        clinicians = clinicians.annotate(
            practice_id=Subquery(first_role.values("organization_id")[:1])
        )
    clinician = None
    if data.clinician_id:
        clinician = clinicians.filter(pk=data.clinician_id).first()
    elif data.npi:
        try:
            validate_npi(data.npi)
        except ValidationError:
            clinician = None  # kept as given; the not-verified blocker asks a person to check
        else:
            clinician = clinicians.filter(npi=data.npi).first()
    if data.organization_id:
        return clinician, data.organization_id
    return clinician, clinician.practice_id if clinician else None
