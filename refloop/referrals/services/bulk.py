"""Many referrals received at once (a file import): the rules of `referral_receive`, in a few
queries per batch instead of a dozen per referral.

Per submission exactly what referral_receive does: the same check (`submission_problems`), a
resend recognised by the sender's reference (answered with its referral, nothing written), the
patient matched by MRN or name and date of birth (or made), the referrer matched by NPI, the
other open referrals of the patient to the same line noted as possible duplicates, then the
received event, the checklist, the first blockers and the clocks (the rules of `ClockBook`, as
rows: `clocks.received_clock_rows`). What differs is only how: the lookups are one query per
kind for the whole batch, and the rows go in through core.bulk's `RowWriter` (one COPY per table
on PostgreSQL, executemany on SQLite), with ids reserved up front so nothing is read back.

A refused submission writes nothing and comes back with its problem, so the caller can keep it
(the importer quarantines the row). Submissions with documents take the single-row path: storing
files is per document anyway.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone

from refloop.core.bulk import RowWriter
from refloop.core.calendar import calendar_memoized, practice_calendar
from refloop.core.errors import DomainError
from refloop.directory.models import (
    ChecklistTemplateItem,
    Clinician,
    ClinicianRole,
    Coverage,
    Organization,
    Patient,
    ResponseTarget,
    ServiceLine,
)
from refloop.directory.validators import validate_npi
from refloop.referrals import clocks
from refloop.referrals.enums import OPEN_STATES, ChecklistStatus, EventKind, State
from refloop.referrals.models import (
    ChecklistItem,
    Referral,
    ReferralBlocker,
    ReferralClock,
    ReferralEvent,
)
from refloop.referrals.services.intake import (
    MRN_ELSEWHERE,
    PatientData,
    ReferralSubmission,
    ReferrerData,
    initial_blocker_kinds,
    patient_fields,
    referral_receive,
    referrer_text,
    submission_problems,
    waits_on_others,
)
from refloop.referrals.services.lifecycle import require


@dataclass
class BulkReceived:
    """What referral_receive answers (the referral, whether it is new, its possible duplicates),
    by id: a batch of thousands is not read back. For a refused submission, why (`problem`;
    nothing was written for it)."""

    referral_id: int | None
    created: bool
    possible_duplicate_ids: list[int] = field(default_factory=list)
    problem: str = ""

    @property
    def referral(self) -> Referral | None:
        """The referral itself, read on demand (one query)."""
        return Referral.objects.filter(pk=self.referral_id).first() if self.referral_id else None


def referrals_receive_bulk(*, submissions: list[ReferralSubmission], actor) -> list[BulkReceived]:
    """Receive a batch; one answer per submission, in order. Runs in one transaction: all of the
    batch is written or none of it."""
    require(actor, "receive_referral")
    try:
        with transaction.atomic():
            return _Batch(submissions, actor).receive()
    except IntegrityError:
        # Another process received one of these references meanwhile: the unique constraint
        # refused our copy. Once more: the resend lookup now finds theirs.
        with transaction.atomic():
            return _Batch(submissions, actor).receive()


@dataclass
class BulkCarry:
    """What one batch made (patients, coverages, referrals), as the lookups of the next batch
    need it while the first is still being written by another connection (a file import's
    pipeline): the next batch's queries cannot see it yet, so it is carried over in memory."""

    by_mrn: dict[str, int] = field(default_factory=dict)
    born: dict[int, object] = field(default_factory=dict)
    by_name: dict[tuple, int] = field(default_factory=dict)
    covered: set[tuple[int, str]] = field(default_factory=set)
    open_referrals: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    sent: dict[tuple[str, str], int] = field(default_factory=dict)


class BulkPrepared:
    """A batch decided but not written: its answers, its rows and what it carries to the next
    batch. Made by `referrals_prepare_bulk`, written by `referrals_write_bulk` (on any
    connection, in the caller's transaction)."""

    def __init__(self, batch: _Batch):
        self._batch = batch
        self.results: list[BulkReceived] = batch.results
        self.carry: BulkCarry = batch.made


def referrals_prepare_bulk(
    *, submissions: list[ReferralSubmission], actor, carry: BulkCarry | None = None
) -> BulkPrepared:
    """The reading half of referrals_receive_bulk: checks, lookups (plus what `carry` says the
    batch before made) and every row, in memory; nothing is written. Submissions with documents
    are not taken here (their files are stored one by one): use referrals_receive_bulk."""
    require(actor, "receive_referral")
    if any(s.documents for s in submissions):
        raise ValueError("referrals_prepare_bulk takes no documents: use referrals_receive_bulk")
    batch = _Batch(submissions, actor, carry=carry)
    batch.prepare()
    return BulkPrepared(batch)


def referrals_write_bulk(*, prepared: BulkPrepared) -> list[BulkReceived]:
    """Write a prepared batch (the caller holds the transaction); its answers."""
    prepared._batch._write()
    return prepared.results


class _Batch:
    def __init__(
        self, submissions: list[ReferralSubmission], actor, carry: BulkCarry | None = None
    ):
        self.carry = carry
        self.made = BulkCarry()
        self.submissions = submissions
        self.actor = actor
        self.actor_id = actor.pk if actor is not None else None
        self.now = timezone.now()
        self.results: list[BulkReceived | None] = [None] * len(submissions)
        self.patients: list[dict] = []
        self.coverages: list[dict] = []
        self.referrals: list[dict] = []
        self.events: list[dict] = []
        self.checklist: list[dict] = []
        self.blockers: list[dict] = []
        self.clocks: list[dict] = []

    def receive(self) -> list[BulkReceived]:
        self._with_documents()
        self.prepare()
        self._write()
        return self.results

    def prepare(self) -> None:
        todo = self._checked()
        self._lookups_load(todo)
        if self.carry is not None:
            self._carried(self.carry)
        for index in todo:
            self.results[index] = self._one(self.submissions[index])

    def _carried(self, carry: BulkCarry) -> None:
        """Add what the batch before made (not yet visible to our queries, or visible already if
        it committed meanwhile). What the queries found comes first, as it has the lower ids (the
        order row-by-row matching sees)."""
        for mrn, pk in carry.by_mrn.items():
            self.by_mrn.setdefault(mrn, pk)
        self.born.update(carry.born)
        for key, pk in carry.by_name.items():
            self.by_name.setdefault(key, pk)
        self.covered |= carry.covered
        for key, ids in carry.open_referrals.items():
            # The batch before may have committed before our lookups ran (its writer was the
            # quicker): they found its referrals then, and each is noted once, in id order.
            found = self.open_referrals.get(key, [])
            self.open_referrals[key] = sorted({*found, *ids})
        for key, pk in carry.sent.items():
            self.sent.setdefault(key, pk)

    # -- before: checks and lookups, one query each -------------------------------------------

    def _with_documents(self) -> None:
        for index, submission in enumerate(self.submissions):
            if submission.documents:
                try:
                    result = referral_receive(submission=submission, actor=self.actor)
                except DomainError as error:
                    self.results[index] = BulkReceived(None, False, problem=error.message)
                else:
                    self.results[index] = BulkReceived(
                        result.referral.pk,
                        result.created,
                        [d.pk for d in result.possible_duplicates],
                    )

    def _checked(self) -> list[int]:
        line_ids = {s.service_line_id for s in self.submissions}
        self.lines = {
            line.pk: line for line in ServiceLine.objects.filter(pk__in=line_ids, active=True)
        }
        todo = []
        today = timezone.localdate()
        for index, submission in enumerate(self.submissions):
            if self.results[index] is not None:
                continue
            problems = submission_problems(
                submission, line_active=submission.service_line_id in self.lines, today=today
            )
            if problems:
                self.results[index] = BulkReceived(None, False, problem=" ".join(problems))
            else:
                todo.append(index)
        return todo

    def _lookups_load(self, todo: list[int]) -> None:
        subs = [self.submissions[i] for i in todo]
        references = {s.sender_reference for s in subs if s.sender_reference}
        systems = {s.sender_system for s in subs if s.sender_reference}
        sent = Referral.objects.filter(
            sender_system__any_of=systems, sender_reference__any_of=references
        )
        self.sent: dict[tuple[str, str], int] = {
            (system, reference): pk
            for pk, system, reference in sent.values_list("pk", "sender_system", "sender_reference")
        }
        self._patients_load([s.patient for s in subs])
        self._referrers_load([s.referrer for s in subs])
        line_ids = list(self.lines)
        self.templates: dict[int, list[tuple[str, str]]] = {pk: [] for pk in line_ids}
        for item in ChecklistTemplateItem.objects.filter(service_line_id__in=line_ids):
            self.templates[item.service_line_id].append((item.name, item.document_kind))
        self.targets: dict[tuple[int, str], dict[str, clocks.Target]] = {}
        for row in ResponseTarget.objects.filter(service_line_id__in=line_ids):
            self.targets.setdefault((row.service_line_id, row.priority), {})[row.kind] = (
                clocks.Target(row.kind, row.amount, row.unit)
            )
        # The same calendar, its per-day answers remembered: a batch asks about the same few
        # days thousands of times.
        self.calendar = calendar_memoized(practice_calendar())
        self.patient_ids = _IdBlock(Patient, block=len(subs))
        self.referral_ids = _IdBlock(Referral, block=len(subs))

    def _patients_load(self, given: list[PatientData]) -> None:
        """The patients the batch may match, as ids by MRN and by name and date of birth."""
        mrns = {p.mrn for p in given if p.mrn}
        self.by_mrn: dict[str, int] = {}
        self.born: dict[int, object] = {}  # patient id -> date of birth, for an MRN's check
        for mrn, pk, born in Patient.objects.filter(mrn__any_of=mrns).values_list(
            "mrn", "pk", "birth_date"
        ):
            self.by_mrn[mrn], self.born[pk] = pk, born
        births = {p.birth_date for p in given}
        lasts = {key for p in given for key in _lowered(p.last_name.strip())}
        self.by_name: dict[tuple, int] = {}
        candidates = (
            Patient.objects.filter(birth_date__any_of=births)
            .annotate(last_lower=Lower("last_name"))
            .filter(last_lower__any_of=lasts)
            .order_by("pk")
            .values_list("pk", "first_name", "last_name", "birth_date")
        )
        for pk, first, last, birth in candidates:
            self.by_name.setdefault(_name_key(first, last, birth), pk)
        known = {*self.by_mrn.values(), *self.by_name.values()}
        members = {p.member_id for p in given if p.member_id}
        self.covered = set(
            Coverage.objects.filter(
                patient_id__any_of=known, member_id__any_of=members
            ).values_list("patient_id", "member_id")
        )
        self.open_referrals: dict[tuple[int, int], list[int]] = {}
        open_referrals = Referral.objects.filter(patient_id__any_of=known, state__in=OPEN_STATES)
        for pk, patient_id, line_id in open_referrals.order_by("pk").values_list(
            "pk", "patient_id", "service_line_id"
        ):
            self.open_referrals.setdefault((patient_id, line_id), []).append(pk)

    def _referrers_load(self, given: list[ReferrerData]) -> None:
        ids = {r.clinician_id for r in given if r.clinician_id}
        npis = {r.npi for r in given if not r.clinician_id and r.npi and _npi_valid(r.npi)}
        self.clinicians_by_id = {c.pk: c for c in Clinician.objects.filter(pk__in=ids)}
        self.clinicians_by_npi = {c.npi: c for c in Clinician.objects.filter(npi__any_of=npis)}
        org_ids = {r.organization_id for r in given if r.organization_id}
        self.organizations = {o.pk: o for o in Organization.objects.filter(pk__in=org_ids)}
        # referrer_organization for every clinician at once: the organization of their first role.
        clinicians = [*self.clinicians_by_id.values(), *self.clinicians_by_npi.values()]
        self.practice_of: dict[int, Organization | None] = {}
        roles = ClinicianRole.objects.filter(clinician__in=clinicians).select_related(
            "organization"
        )
        for role in roles.order_by("id"):
            self.practice_of.setdefault(role.clinician_id, role.organization)

    # -- one submission, in memory --------------------------------------------------------------

    def _one(self, submission: ReferralSubmission) -> BulkReceived:
        key = (submission.sender_system, submission.sender_reference)
        if submission.sender_reference and key in self.sent:
            return BulkReceived(self.sent[key], False)
        received_at = submission.received_at or self.now
        given = submission.patient
        by_mrn = self.by_mrn.get(given.mrn) if given.mrn else None
        if by_mrn is not None and self.born[by_mrn] != given.birth_date:
            return BulkReceived(None, False, problem=MRN_ELSEWHERE)
        patient_id = self._patient(submission.patient)
        clinician, organization = self._referrer(submission.referrer)
        line_id = submission.service_line_id
        duplicates = list(self.open_referrals.get((patient_id, line_id), []))
        # The row referral_receive's Referral.objects.create makes (the rest take defaults).
        referral = {
            "id": self.referral_ids.take(),
            "patient_id": patient_id,
            "referring_clinician_id": clinician.pk if clinician else None,
            "referring_organization_id": organization.pk if organization else None,
            "referrer_as_given": referrer_text(submission.referrer),
            "service_line_id": line_id,
            "receiving_clinician_id": submission.receiving_clinician_id,
            "priority": submission.priority,
            "reason": submission.reason.strip(),
            "diagnoses": [code.upper() for code in submission.diagnoses],
            "channel": submission.channel,
            "sender_system": submission.sender_system,
            "sender_reference": submission.sender_reference,
            "assignee_id": submission.assignee_id,
            "state": State.RECEIVED,
            "received_at": received_at,
            "next_check_at": received_at,
            "state_changed_at": received_at,
            "created_at": self.now,
            "updated_at": self.now,
        }
        details = {"possible_duplicates": duplicates} if duplicates else {}
        self._start(referral, clinician, details)
        self.referrals.append(referral)
        self.open_referrals.setdefault((patient_id, line_id), []).append(referral["id"])
        self.made.open_referrals.setdefault((patient_id, line_id), []).append(referral["id"])
        if submission.sender_reference:
            self.sent[key] = self.made.sent[key] = referral["id"]
        return BulkReceived(referral["id"], True, duplicates)

    def _patient(self, data: PatientData) -> int:
        """patient_match: same MRN, or same name and date of birth, else a new patient."""
        patient_id = self.by_mrn.get(data.mrn) if data.mrn else None
        if patient_id is None:
            patient_id = self.by_name.get(_name_key(data.first_name, data.last_name,
                                                    data.birth_date))  # fmt: skip
        if patient_id is None:
            fields = patient_fields(data)
            patient_id = self.patient_ids.take()
            self.patients.append({"id": patient_id, **fields})
            made = self.made
            if fields["mrn"]:
                self.by_mrn[fields["mrn"]] = made.by_mrn[fields["mrn"]] = patient_id
                self.born[patient_id] = made.born[patient_id] = fields["birth_date"]
            name = _name_key(fields["first_name"], fields["last_name"], fields["birth_date"])
            self.by_name.setdefault(name, patient_id)
            made.by_name.setdefault(name, patient_id)
        if data.member_id and (patient_id, data.member_id) not in self.covered:
            self.coverages.append(
                {
                    "patient_id": patient_id,
                    "payer": data.payer,
                    "plan": data.plan,
                    "member_id": data.member_id,
                }
            )
            self.covered.add((patient_id, data.member_id))
            self.made.covered.add((patient_id, data.member_id))
        return patient_id

    def _referrer(self, data: ReferrerData) -> tuple[Clinician | None, Organization | None]:
        """referrer_match."""
        clinician = None
        if data.clinician_id:
            clinician = self.clinicians_by_id.get(data.clinician_id)
        elif data.npi and _npi_valid(data.npi):
            clinician = self.clinicians_by_npi.get(data.npi)
        organization = None
        if data.organization_id:
            organization = self.organizations.get(data.organization_id)
        elif clinician:
            organization = self.practice_of.get(clinician.pk)
        return clinician, organization

    def _start(self, referral: dict, clinician: Clinician | None, details: dict) -> None:
        """referral_start, for a referral that came without documents."""
        at, pk, line_id = referral["received_at"], referral["id"], referral["service_line_id"]
        self._event(pk, at, EventKind.RECEIVED, to_state=State.RECEIVED,
                    code=referral["channel"], details=details)  # fmt: skip
        items = self.templates[line_id]
        self.checklist.extend(
            {
                "referral_id": pk,
                "name": name,
                "document_kind": kind,
                "status": ChecklistStatus.REQUIRED,
                "document_id": None,
                "updated_at": None,
            }
            for name, kind in items
        )
        blockers = initial_blocker_kinds(records_missing=bool(items), clinician=clinician)
        for kind in blockers:
            self.blockers.append(
                {"referral_id": pk, "kind": kind, "opened_at": at, "resolved_at": None, "note": ""}
            )
            self._event(pk, at, EventKind.BLOCKER_OPENED, code=kind)
        referral["open_blocker_count"] = len(blockers)
        priority = referral["priority"]
        started = clocks.received_clock_rows(
            referral_id=pk,
            priority=priority,
            targets=self.targets.get((line_id, priority), {}),
            calendar=self.calendar,
            at=at,
            waiting=waits_on_others(blockers),
        )
        self.clocks.extend(started)
        referral["next_due_at"], referral["next_at_risk_at"] = clocks.next_times_of(started)

    def _event(self, referral_id: int, at, kind: str, **fields) -> None:
        self.events.append(
            {
                "referral_id": referral_id,
                "kind": kind,
                "from_state": "",
                "to_state": "",
                "code": "",
                "note": "",
                "details": {},
                "actor_id": self.actor_id,
                "corrects_id": None,
                "occurred_at": at,
                "recorded_at": self.now,
                **fields,
            }
        )

    # -- after: the rows, one statement per table -----------------------------------------------

    def _write(self) -> None:
        writer = RowWriter(binary=True)
        with connection.cursor() as cursor:
            writer.insert(cursor, Patient, self.patients, with_id=True)
            writer.insert(cursor, Coverage, self.coverages)
            writer.insert(cursor, Referral, self.referrals, with_id=True)
            writer.insert(cursor, ReferralEvent, self.events)
            writer.insert(cursor, ChecklistItem, self.checklist)
            writer.insert(cursor, ReferralBlocker, self.blockers)
            writer.insert(cursor, ReferralClock, self.clocks)


ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _lowered(name: str) -> set[str]:
    """What the database's LOWER() may make of a name: Python's lower-casing, or ASCII letters
    only (SQLite's, and PostgreSQL's under a C locale). The query asks for both; the match
    itself is made here, with Python's, so every database finds the same patients."""
    return {name.lower(), name.translate(ASCII_LOWER)}


def _name_key(first: str, last: str, birth_date) -> tuple:
    return first.strip().lower(), last.strip().lower(), birth_date


@functools.lru_cache(maxsize=1 << 14)  # a file names the same few hundred referrers again and again
def _npi_valid(npi: str) -> bool:
    try:
        validate_npi(npi)
    except Exception:  # ValidationError: kept as given, matched to no one
        return False
    return True


class _IdBlock:
    """Ids for new rows, taken before insert so nothing has to be read back. PostgreSQL hands
    them out from the table's own sequence (safe beside other writers); SQLite has one writer at
    a time, inside this transaction, so the next ids after the highest are ours."""

    def __init__(self, model, block: int):
        self.model = model
        self.block = max(block, 1)
        self.free: list[int] = []
        self.next_sqlite: int | None = None
        self.sqlite = connection.vendor != "postgresql"  # asked once: a batch takes thousands

    def take(self) -> int:
        if self.sqlite:
            if self.next_sqlite is None:
                top = self.model.objects.aggregate(top=Max("pk"))["top"] or 0
                self.next_sqlite = top + 1
            self.next_sqlite += 1
            return self.next_sqlite - 1
        if not self.free:
            table = self.model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, self.block],
                )
                self.free = [row[0] for row in cursor.fetchall()][::-1]
        return self.free.pop()
