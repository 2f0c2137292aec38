"""Import: sources and their mappings, runs processed in chunks, the quarantine.

A run keeps the file as uploaded (with its sha256) before anything is read from it. It is then
processed in chunks of rows; each chunk is one transaction that writes its referrals, its
quarantined rows and the run's cursor together, so a process killed midway leaves the run at the
last chunk it committed and a resume carries on from there. Whoever processes a run holds it with
a lease (a conditional UPDATE, as core.scheduling claims rows); a killed worker's lease runs out
and the resume takes the run over. Importing the same rows again creates nothing twice: each row
carries the sender's referral id, and a resend is answered with the referral already made.

Rows without history go through the bulk path (`referrals_receive_bulk`); a row with history
(dates of acceptance, booking, visit...) goes through `referral_receive` and then the services
that made those changes (transition, milestone, booking, outcome, cancel) with the file's times,
inside a savepoint: if our rules refuse any step, the whole row goes to the quarantine instead.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from refloop.access.models import Appointment
from refloop.access.services import appointment_book, appointment_record_outcome, referral_cancel
from refloop.core.errors import Conflict, DomainError, NotFound
from refloop.core.scheduling import DEFAULT_LEASE, scheduler_owner
from refloop.directory.models import ServiceLine
from refloop.interop.files.models import ImportRun, ImportSource, QuarantinedRow
from refloop.interop.files.reading import file_format, rows_count, rows_read
from refloop.interop.files.rows import FIELDS, VALUE_FIELDS, Mapping, ParsedRow, Step
from refloop.referrals.enums import State
from refloop.referrals.services import (
    milestone_record,
    referral_receive,
    referral_transition,
    referrals_receive_bulk,
    require,
)
from refloop.referrals.services.bulk import (
    BulkPrepared,
    referrals_prepare_bulk,
    referrals_write_bulk,
)

logger = logging.getLogger(__name__)

CHUNK = 1000  # rows per transaction
# Who may keep the sources: a mapping decides what every row of a system's files means, so it is
# a manager's call (managers and admins hold correct_event; intake does not).
SOURCE_PERMISSION = "correct_event"


class ImportStopped(Exception):
    """A run stopped by an unexpected error (recorded on the run); says ids and the type only."""


class LeaseLost(Exception):
    """Another worker took the run over (our lease ran out): stop, commit nothing more."""


# Sources ----------------------------------------------------------------------------------------


def source_save(*, name: str, mapping: dict, actor, source_id: int | None = None) -> ImportSource:
    require(actor, SOURCE_PERMISSION)
    name = name.strip()
    if not name:
        raise DomainError("Give the source a name.", code="source_name")
    mapping_check(mapping)
    source = ImportSource(pk=source_id) if source_id else ImportSource()
    if source_id:
        source = ImportSource.objects.filter(pk=source_id).first()
        if source is None:
            raise NotFound("No such import source.")
        if name != source.name and source.runs.exists():
            # Its name is the sender system its referrals are filed under: renamed, the same
            # file would import everything twice, and a new source taking the old name would
            # have its rows answered as resends of these referrals (and not imported).
            raise Conflict(
                "A source that has imported files keeps its name (it is how its referrals are "
                "recognised when a file comes again).",
                code="source_renamed",
            )
    elif ImportSource.objects.filter(name__iexact=name).exists():
        raise Conflict("A source with that name exists already.", code="source_exists")
    source.name, source.mapping = name, mapping
    source.save()
    return source


def mapping_check(mapping: dict) -> None:
    ours = dict(FIELDS)
    problems = [f"'{k}' is not one of our fields." for k in mapping.get("columns", {})
                if k not in ours]  # fmt: skip
    problems += [f"Values of '{k}' cannot be mapped." for k in mapping.get("values", {})
                 if k not in VALUE_FIELDS]  # fmt: skip
    if not mapping.get("columns", {}).get("sender_reference"):
        problems.append("Map their referral id: it is how a resend is recognised.")
    for key in ("date_formats", "datetime_formats"):
        for fmt in mapping.get(key, []):
            if "%" not in fmt:
                problems.append(f"'{fmt}' is not a date format (use %Y, %m, %d, %H, %M).")
    if problems:
        raise DomainError(" ".join(problems), code="mapping")


# Runs -------------------------------------------------------------------------------------------


def import_start(
    *, source_id: int, filename: str, content: bytes, actor, queue: bool = True
) -> ImportRun:
    """Keep the file as uploaded and queue its import (a background task, after commit)."""
    require(actor, "receive_referral")
    fmt = file_format(filename)
    source = ImportSource.objects.filter(pk=source_id).first()
    if source is None:
        raise NotFound("No such import source.")
    if not content:
        raise DomainError("The file is empty.", code="empty")
    with transaction.atomic():
        run = ImportRun(
            source=source,
            file_format=fmt,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            created_by=actor,
        )
        run.file.save(filename, ContentFile(content), save=False)
        run.save()
        if queue:
            from refloop.interop.files.tasks import import_run_task

            transaction.on_commit(lambda: import_run_task.enqueue(run.pk))
    return run


def import_resume(*, run_id: int, actor) -> ImportRun:
    """Queue an interrupted run again; the worker carries on from its cursor once it can claim
    it (at once if it stopped with an error, after its lease if its worker died)."""
    require(actor, "receive_referral")
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such import.")
    if run.finished:
        raise Conflict("This import has finished.", code="finished")
    from refloop.interop.files.tasks import import_run_task

    transaction.on_commit(lambda: import_run_task.enqueue(run.pk))
    return run


def import_run_claim(*, run_id: int, owner: str, now: dt.datetime | None = None) -> bool:
    """Take the run if it is queued, or running with a lease that has run out (its worker died)."""
    now = now or timezone.now()
    return bool(
        ImportRun.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            pk=run_id,
            status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING],
        ).update(
            status=ImportRun.Status.RUNNING,
            lease_until=now + DEFAULT_LEASE,
            owner=owner,
            started_at=Coalesce(F("started_at"), now),
        )
    )


def import_run_process(
    *,
    run_id: int,
    chunk_size: int = CHUNK,
    on_chunk: Callable[[ImportRun], None] | None = None,
    overlap: bool = False,
) -> ImportRun:
    """Import the run's rows from its cursor on; safe to call again after any failure. Returns
    the run as it is now (untouched if another worker holds it). `overlap`: on PostgreSQL,
    outside a caller's transaction, write one chunk while the next is read (_pipelined). Off
    by default: measured at 200,000 rows on the shared 2-core machine it gained no time and
    cost ~40% more CPU on both sides (bench/import_csv.py --overlap --serial-too compares)."""
    owner = f"{scheduler_owner()}:{uuid.uuid4().hex[:8]}"
    if not import_run_claim(run_id=run_id, owner=owner):
        return ImportRun.objects.get(pk=run_id)
    run = ImportRun.objects.select_related("source", "created_by").get(pk=run_id)
    try:
        _process(run, owner, chunk_size, on_chunk, overlap)
    except LeaseLost:
        logger.warning("import run %s: lease lost, another worker carries on", run_id)
    except UnicodeDecodeError:
        _finish(
            run,
            owner,
            status=ImportRun.Status.FAILED,
            error=f"After {run.rows_done} rows: the file is not UTF-8 text. Save it as "
            "CSV UTF-8 and import it again (the rows so far are not imported twice).",
        )
    except Exception as error:
        # Not a dead process: free the run at once so a resume need not wait for the lease.
        # The error's type only: its message may quote a row (no PHI in logs).
        logger.error(
            "import run %s stopped at row %s: %s", run_id, run.rows_done, type(error).__name__
        )
        ImportRun.objects.filter(pk=run_id, owner=owner).update(
            lease_until=None, error=f"Stopped after {run.rows_done} rows: {type(error).__name__}"
        )
        # Failed for the task runner too, which logs what escapes with its traceback: so not
        # the error itself (nor chained to it), whose text may quote a row.
        raise ImportStopped(
            f"import run {run_id} stopped at row {run.rows_done}: {type(error).__name__}"
        ) from None
    return ImportRun.objects.get(pk=run_id)


def _process(run: ImportRun, owner: str, chunk_size: int, on_chunk, overlap: bool) -> None:
    path = run.file.path
    header, rows = rows_read(path, run.file_format)
    mapping = _mapping(run)
    problems = mapping.problems(header)
    if problems:
        _finish(run, owner, status=ImportRun.Status.FAILED, error=" ".join(problems))
        return
    if run.rows_total is None:
        run.rows_total = rows_count(path, run.file_format)
        ImportRun.objects.filter(pk=run.pk).update(rows_total=run.rows_total)
    chunks = _chunks(rows, skip=run.rows_done, size=chunk_size)
    if overlap and connection.vendor == "postgresql" and not connection.in_atomic_block:
        _pipelined(run, owner, mapping, chunks, on_chunk)
    else:
        # SQLite has one writer at a time; inside a caller's transaction (tests) another
        # connection would not see what the caller holds.
        for chunk in chunks:
            with _collector_paused():
                _chunk_import(run, owner, mapping, chunk)
            if on_chunk:
                on_chunk(run)
    _finish(run, owner, status=ImportRun.Status.DONE)


def _chunks(rows, *, skip: int, size: int):
    chunk: list[tuple[int, dict]] = []
    for index, numbered in enumerate(rows):
        if index < skip:
            continue  # committed by an earlier attempt
        chunk.append(numbered)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def _collector_paused():
    """Python's cycle collector off while a chunk is imported. A chunk makes hundreds of
    thousands of short-lived objects (rows, dicts, dates), and every 700 of them set off a scan
    that also walks the chunk's live ones: measured, about a third of the import's Python time
    (124 -> 86 us a row). What a chunk makes is freed by reference counting when it ends; the
    collector runs again between chunks for anything cyclic."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _mapping(run: ImportRun) -> Mapping:
    lines = {}
    for pk, code, name in ServiceLine.objects.filter(active=True).values_list("pk", "code", "name"):
        lines[code], lines[name] = pk, pk
    return Mapping(
        run.source.mapping,
        lines=lines,
        sender_system=run.source.sender_system,
        default_received_at=run.created_at,
    )


def _finish(run: ImportRun, owner: str, *, status: str, error: str = "") -> None:
    ImportRun.objects.filter(pk=run.pk, owner=owner).update(
        status=status, finished_at=timezone.now(), lease_until=None, error=error
    )


def _chunk_import(run: ImportRun, owner: str, mapping: Mapping, chunk) -> None:
    """One chunk, one transaction: referrals, quarantine and the cursor move together."""
    with transaction.atomic():
        parsed = [(number, raw, mapping.parse(raw)) for number, raw in chunk]
        plain = [(n, raw, p) for n, raw, p in parsed if p.submission and not p.history]
        answers = referrals_receive_bulk(
            submissions=[p.submission for _, _, p in plain], actor=run.created_by
        )
        _chunk_recorded(run, owner, parsed, plain, answers, rows=len(chunk))
    run.rows_done += len(chunk)


def _chunk_recorded(run: ImportRun, owner: str, parsed, plain, answers, *, rows: int) -> None:
    """The rest of a chunk's transaction, once its plain rows are received: the rows with
    history, the quarantine, the counts and the cursor (with the lease still ours)."""
    counts = {"created": 0, "duplicate": 0, "quarantined": 0}
    quarantine: list[QuarantinedRow] = []
    actor = run.created_by

    def keep(number, raw, reasons):
        counts["quarantined"] += 1
        quarantine.append(QuarantinedRow(run=run, row_number=number, raw=raw, reasons=reasons))

    for (number, raw, _), answer in zip(plain, answers, strict=True):
        if answer.problem:
            keep(number, raw, [answer.problem])
        else:
            counts["created" if answer.created else "duplicate"] += 1
    for number, raw, row in parsed:
        if row.problems:
            keep(number, raw, row.problems)
        elif row.history:
            try:
                created = _with_history(row, actor=actor, run_id=run.pk)
            except DomainError as error:
                keep(number, raw, [error.message])
            else:
                counts["created" if created else "duplicate"] += 1
    QuarantinedRow.objects.bulk_create(quarantine)
    moved = ImportRun.objects.filter(pk=run.pk, owner=owner).update(
        rows_done=F("rows_done") + rows,
        created=F("created") + counts["created"],
        duplicate=F("duplicate") + counts["duplicate"],
        quarantined=F("quarantined") + counts["quarantined"],
        lease_until=timezone.now() + DEFAULT_LEASE,
    )
    if not moved:
        raise LeaseLost


# The pipeline ----------------------------------------------------------------------------------


@dataclass
class _Prepared:
    """A chunk read and decided, its rows in memory, waiting to be written."""

    chunk: list
    parsed: list
    plain: list
    bulk: BulkPrepared
    history: bool  # rows replayed through referral_receive, whose patients are not carried


def _pipelined(run: ImportRun, owner: str, mapping: Mapping, chunks, on_chunk) -> None:
    """The chunks as in the plain loop, two at a time: while a writer thread (its own
    connection) writes and commits chunk N, this thread reads, maps, checks and decides chunk
    N+1, PostgreSQL's work and Python's overlapping on the two cores (psycopg lets go of the
    GIL while it waits on the server).

    Each chunk is still one transaction with its quarantine and the cursor, and the cursor
    only ever names committed chunks, so a crash resumes exactly as before. Chunk N+1's lookups
    cannot see chunk N (not committed yet): what N made (patients, coverages, referrals, the
    references sent) is carried over in memory (BulkCarry); every chunk before N is committed
    before N+1 looks anything up. After a chunk with history rows (received one by one, not
    carried) the pipeline empties before the next chunk looks up its patients."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer:
        paused = gc.isenabled()
        gc.disable()  # as _collector_paused, for the whole run: two threads share the switch
        try:
            _pipeline_run(run, owner, mapping, chunks, on_chunk, writer)
        finally:
            writer.submit(connections.close_all)  # the writer thread's own connection
            if paused:
                gc.enable()


def _pipeline_run(run, owner, mapping, chunks, on_chunk, writer) -> None:
    flight = None  # (the writer's future, the chunk) being written
    carry = None
    chunks = iter(chunks)
    while True:
        try:
            chunk = next(chunks, None)  # reading may fail too (a file that is not UTF-8)
            if chunk is None:
                break
            prepared = _chunk_prepared(run, mapping, chunk, carry)
        except BaseException:
            if flight:
                _landed(run, flight, on_chunk=None)  # the chunk in flight is whole: let it land
            raise
        if flight:
            try:
                _landed(run, flight, on_chunk)
            except IntegrityError:
                # Another process received one of the in-flight chunk's references meanwhile.
                # That chunk again, through the plain path (which retries), and this one too:
                # its lookups counted on the first.
                for again in (flight[1], chunk):
                    _chunk_import(run, owner, mapping, again)
                    if on_chunk:
                        on_chunk(run)
                flight, carry = None, None
                continue
        flight = (writer.submit(_chunk_written, run, owner, prepared), chunk)
        carry = prepared.bulk.carry
        if prepared.history:
            _landed(run, flight, on_chunk)
            flight, carry = None, None
    if flight:
        _landed(run, flight, on_chunk)


def _chunk_prepared(run: ImportRun, mapping: Mapping, chunk, carry) -> _Prepared:
    parsed = [(number, raw, mapping.parse(raw)) for number, raw in chunk]
    plain = [(n, raw, p) for n, raw, p in parsed if p.submission and not p.history]
    bulk = referrals_prepare_bulk(
        submissions=[p.submission for _, _, p in plain], actor=run.created_by, carry=carry
    )
    history = any(p.history and not p.problems for _, _, p in parsed)
    return _Prepared(chunk, parsed, plain, bulk, history)


def _chunk_written(run: ImportRun, owner: str, prepared: _Prepared) -> None:
    """In the writer thread: one chunk, one transaction, as _chunk_import."""
    with transaction.atomic():
        answers = referrals_write_bulk(prepared=prepared.bulk)
        _chunk_recorded(
            run, owner, prepared.parsed, prepared.plain, answers, rows=len(prepared.chunk)
        )


def _landed(run: ImportRun, flight, on_chunk) -> None:
    """Wait for the chunk in flight to commit (its error is raised here), then move on."""
    future, chunk = flight
    future.result()
    run.rows_done += len(chunk)
    gc.collect(1)  # what the chunk left in cycles (the collector is off meanwhile)
    if on_chunk:
        on_chunk(run)


def _with_history(row: ParsedRow, *, actor, run_id: int) -> bool:
    """Receive one row and replay its history, all or nothing (a savepoint). Returns whether
    the referral is new; a resend replays nothing."""
    with transaction.atomic():
        result = referral_receive(submission=row.submission, actor=actor)
        if result.created:
            for step in row.history:
                history_step(referral_id=result.referral.pk, step=step, run_id=run_id)
        return result.created


def history_step(*, referral_id: int, step: Step, run_id: int) -> None:
    """One step the other system recorded, through the service that makes that change here.
    The system makes it (actor None): the people who did it worked in the other system."""
    details = {"import_run": run_id}
    if step.time_from:
        details["time_from"] = step.time_from
    note = f"Imported (run {run_id})" + (f"; time from {step.time_from}" if step.time_from else "")
    at = step.at
    if step.milestone:
        milestone_record(
            referral_id=referral_id, milestone=step.milestone, actor=None, occurred_at=at,
            details=details,
        )  # fmt: skip
    elif step.to_state == State.SCHEDULED:
        appointment_book(
            referral_id=referral_id, actor=None, starts_at=step.appointment_at, occurred_at=at,
            override_authorization=True,
        )  # fmt: skip
    elif step.to_state in {State.COMPLETED, State.NO_SHOW}:
        outcome = (Appointment.Outcome.ATTENDED if step.to_state == State.COMPLETED
                   else Appointment.Outcome.NO_SHOW)  # fmt: skip
        appointment_record_outcome(
            referral_id=referral_id, outcome=outcome, actor=None, occurred_at=at
        )
    elif step.to_state == State.CANCELLED:
        referral_cancel(
            referral_id=referral_id, reason=step.reason, actor=None, note=note, occurred_at=at
        )
    else:
        referral_transition(
            referral_id=referral_id, to_state=step.to_state, actor=None, reason=step.reason,
            occurred_at=at, details=details,
        )  # fmt: skip


# The quarantine ---------------------------------------------------------------------------------


def quarantine_reimport(*, row_id: int, corrected: dict[str, str], actor) -> QuarantinedRow:
    """Import the row again with a person's corrections (their columns). If it is refused again,
    the row stays open with the new reasons and the corrections kept."""
    require(actor, "receive_referral")
    try:
        with transaction.atomic():
            row = _open_row(row_id)
            row.corrected = {k: v for k, v in corrected.items() if row.raw.get(k) != v}
            parsed = _mapping(row.run).parse(row.values)
            if parsed.problems:
                raise DomainError(" ".join(parsed.problems), code="invalid_row")
            result = referral_receive(submission=parsed.submission, actor=actor)
            if result.created:
                for step in parsed.history:
                    history_step(referral_id=result.referral.pk, step=step, run_id=row.run_id)
            row.status, row.referral = QuarantinedRow.Status.REIMPORTED, result.referral
            row.resolved_by, row.resolved_at = actor, timezone.now()
            row.save()
    except DomainError as error:
        if error.code in {"row_closed", NotFound.code}:
            raise
        # Refused again: the row stays open, with the corrections typed and the new reasons.
        QuarantinedRow.objects.filter(pk=row_id, status=QuarantinedRow.Status.OPEN).update(
            corrected=row.corrected, reasons=[error.message]
        )
        raise
    return row


def quarantine_dismiss(*, row_id: int, reason: str, actor) -> QuarantinedRow:
    """Leave the row out, saying why; it stays in the quarantine, marked dismissed."""
    require(actor, "receive_referral")
    if not reason.strip():
        raise DomainError("Say why the row is left out.", code="reason_required")
    with transaction.atomic():
        row = _open_row(row_id)
        row.status, row.dismiss_reason = QuarantinedRow.Status.DISMISSED, reason.strip()[:300]
        row.resolved_by, row.resolved_at = actor, timezone.now()
        row.save()
    return row


def _open_row(row_id: int) -> QuarantinedRow:
    row = QuarantinedRow.objects.select_for_update().filter(pk=row_id).first()
    if row is None:
        raise NotFound("No such quarantined row.")
    if row.status != QuarantinedRow.Status.OPEN:
        raise Conflict("This row has been dealt with already.", code="row_closed")
    return QuarantinedRow.objects.select_related("run__source").get(pk=row_id)
