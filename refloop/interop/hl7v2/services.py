"""Every write of the HL7 v2 interface: taking a message in (raw first, then processing it),
replaying a corrected one, deciding a merge review.

Taking a message in (message_receive), in this order:
1. the raw bytes are committed (Hl7Message, status received) before anything else: a process
   killed after this loses nothing (the row can be replayed, and a resend processes it);
2. a resend (same sender and MSH-10, same content) gets the ACK it got the first time, and is not
   processed again; a different message reusing a control id is kept and rejected (AR);
3. it is processed in its own transaction, by the handler of its type and trigger;
4. the ACK is stored on the row, then returned to be sent.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from refloop.core.errors import DomainError, NotFound
from refloop.directory.services import (
    patient_identifier_change,
    patient_merge,
)
from refloop.interop.hl7v2.acks import ack_build
from refloop.interop.hl7v2.handlers import handler_for, segments_for
from refloop.interop.hl7v2.handlers.common import Context, partner_for
from refloop.interop.hl7v2.models import Hl7Message, MergeReview
from refloop.interop.hl7v2.parsing import (
    Header,
    Hl7Problem,
    Hl7Rejected,
    Reader,
    header_check,
    header_read,
    message_parse,
    text_of,
)
from refloop.referrals.services import require

log = logging.getLogger(__name__)

PERMISSION = "receive_referral"
Status = Hl7Message.Status


def message_receive(*, raw: bytes, received_at: dt.datetime | None = None) -> bytes:
    """Take one message as it came off the wire; returns the ACK to send back."""
    text = text_of(raw)
    header = header_read(text)
    message, ack = _store(raw, text, header, received_at or timezone.now())
    if ack is not None:
        log.info("hl7 message %s resent: original ack returned", message.pk)
        return ack
    if message.raw is not raw:
        # An earlier copy, committed and never answered (the process died): what was stored runs.
        return message_process(message_id=message.pk)
    return _process(message, text, header)


def _store(raw: bytes, text: str, header: Header, received_at):
    """(row, ack): the ack when the message was answered before, else None (process the row).
    A new message is the usual case: it is inserted straight away, and only when its sender and
    control id are taken already is the first row read (a resend, or an id used again)."""
    fields = dict(
        raw=raw,
        sender=header.sender[:130],
        control_id=header.control_id,
        message_type=header.message_type,
        trigger=header.trigger,
        version=header.version,
        partner=partner_for(header) if header.facility else None,
        received_at=received_at,
    )
    keyed = bool(header.control_id)
    for _ in range(2):
        try:
            return _insert(fields, answers_resend=keyed), None
        except IntegrityError:
            first = _first_with(header)
            if first is not None:
                return _answer_resend(first, text, fields)
            # The row we clashed with is gone again (deleted): insert once more.
    raise RuntimeError("hl7 message could not be stored")


def _insert(fields: dict, *, answers_resend: bool) -> Hl7Message:
    """The raw row, committed as this returns (autocommit: one INSERT, no BEGIN and COMMIT around
    it). Inside a caller's transaction (the demo) a savepoint keeps a clash from spoiling it."""
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return Hl7Message.objects.create(answers_resend=answers_resend, **fields)
    return Hl7Message.objects.create(answers_resend=answers_resend, **fields)


def _first_with(header: Header) -> Hl7Message | None:
    return Hl7Message.objects.filter(
        sender=header.sender[:130], control_id=header.control_id, answers_resend=True
    ).first()


def _answer_resend(first: Hl7Message, text: str, fields: dict):
    if content_key(text_of(bytes(first.raw))) != content_key(text):
        # Not a resend: another message under a control id already used. Kept, and refused.
        other = Hl7Message.objects.create(answers_resend=False, **fields)
        problem = Hl7Rejected(
            f"MSH-10 '{first.control_id}' was already used by another message from "
            f"{first.sender} (#{first.pk}); send this one with a new control id.",
            code="205",
            location="MSH^1^10",
        )
        return other, _finish(other, header_read(text), problem=problem)
    if first.ack:
        return first, bytes(first.ack)
    return first, None  # committed but never answered (the process died): process it now


def content_key(text: str) -> str:
    """The message without MSH-7 (a resend may carry a new timestamp, and still be the same)."""
    head, _, rest = text.partition("\r")
    if head.startswith("MSH") and len(head) > 3:
        fields = head.split(head[3])
        if len(fields) > 6:
            fields[6] = ""
        head = head[3].join(fields)
    return head + "\r" + rest


def message_process(*, message_id: int) -> bytes:
    """Process one stored message in its own transaction; record and return its ACK."""
    message = Hl7Message.objects.select_related("partner").get(pk=message_id)
    text = text_of(bytes(message.raw))
    return _process(message, text, header_read(text))


def _process(message: Hl7Message, text: str, header: Header) -> bytes:
    """message_process for a row in hand (message_receive has just stored it, its partner with
    it, and has read its text and header already)."""
    try:
        header_check(header)
        handler = handler_for(header)
        parsed = message_parse(text, keep=segments_for(header, handler))
        context = Context(
            header=header,
            reader=Reader(parsed),
            partner=message.partner,
            message_id=message.pk,
        )
        return _run(handler, context, message)
    except DomainError as problem:
        return _finish(message, header, problem=problem)
    except Exception as error:  # noqa: BLE001 - kept for replay, told to the sender
        # No PHI in logs: the error's own text may quote the message, so only its type is logged.
        log.error("hl7 message %s failed: %s", message.pk, type(error).__name__)
        problem = Hl7Problem(
            f"Internal error ({type(error).__name__}); the message is kept and will be looked at.",
            code="207",
        )
        return _finish(message, header, problem=problem)


def _run(handler, context: Context, message: Hl7Message) -> bytes:
    """The handler and its ACK in one transaction. Two messages about a new patient processed at
    the same moment both try to create them: the loser's transaction is rolled back and run once
    more, and then finds the patient the other one made."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                # A resend on another connection while this one is still being processed finds
                # the row unanswered too: the row lock makes it wait, then answer with our ACK.
                ack = (
                    Hl7Message.objects.select_for_update()
                    .filter(pk=message.pk)
                    .values_list("ack", flat=True)
                    .first()
                )
                if ack:
                    return bytes(ack)
                return _finish(message, context.header, outcome=handler(context))
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _finish(message: Hl7Message, header: Header, *, outcome=None, problem=None) -> bytes:
    ack_id = f"RL{message.pk}"
    if problem is not None:
        code = "AR" if isinstance(problem, Hl7Rejected) else "AE"
        ack = ack_build(
            header=header,
            code=code,
            ack_id=ack_id,
            text=problem.message,
            error_code=problem.code if isinstance(problem, Hl7Problem) else "207",
            location=problem.location if isinstance(problem, Hl7Problem) else "",
        )
        fields = dict(status=Status.ERROR, error=problem.message[:2000], outcome="")
    else:
        code = "AA"
        ack = ack_build(header=header, code=code, ack_id=ack_id, text=outcome.text)
        fields = dict(
            status=Status.PROCESSED if outcome.processed else Status.IGNORED,
            error="",
            outcome=outcome.text[:300],
            referral_id=outcome.referral_id,
        )
    Hl7Message.objects.filter(pk=message.pk).update(
        ack=ack, ack_code=code, processed_at=timezone.now(), **fields
    )
    log.info("hl7 message %s %s", message.pk, code)
    return ack


def message_replay(*, message_id: int, raw_text: str, actor) -> Hl7Message:
    """Staff corrected a message (or not) and run it again: a new row, pointing at the one it
    replays, is processed; the earlier row and its outcome stay as they were."""
    require(actor, PERMISSION)
    original = Hl7Message.objects.filter(pk=message_id).first()
    if original is None:
        raise NotFound("No such HL7 message.")
    text = text_of(raw_text.encode("utf-8"))
    if not text.startswith("MSH"):
        raise DomainError("The corrected message must start with its MSH segment.")
    header = header_read(text)
    with transaction.atomic():
        replay = Hl7Message.objects.create(
            raw=text.encode("utf-8"),
            sender=header.sender[:130],
            control_id=header.control_id,
            message_type=header.message_type,
            trigger=header.trigger,
            version=header.version,
            partner=partner_for(header) if header.facility else None,
            received_at=timezone.now(),
            replay_of=original,
            replayed_by=actor,
            answers_resend=False,
        )
        Hl7Message.objects.filter(pk=original.pk).update(replay_count=F("replay_count") + 1)
    message_process(message_id=replay.pk)
    replay.refresh_from_db()
    return replay


@transaction.atomic
def merge_review_decide(*, review_id: int, apply: bool, actor, note: str = "") -> MergeReview:
    """A person applies or rejects a merge the feed asked for. Applying it: an identifier change
    gives the prior record the new MRN; a merge of two records we both have moves everything of
    the prior record to the surviving one (directory.services.patient_merge); a record we never
    had needs nothing."""
    require(actor, PERMISSION)
    review = MergeReview.objects.select_for_update().filter(pk=review_id).first()
    if review is None:
        raise NotFound("No such merge review.")
    if review.status != MergeReview.Status.PENDING:
        raise DomainError("This merge was decided already.", code="decided")
    review.status = MergeReview.Status.APPLIED if apply else MergeReview.Status.REJECTED
    review.decided_by, review.decided_at, review.note = actor, timezone.now(), note[:300]
    review.result = _merge_apply(review) if apply else "Rejected: nothing changed."
    review.save()
    return review


def _merge_apply(review: MergeReview) -> str:
    prior, surviving = review.prior_patient, review.surviving_patient
    for patient, mrn in ((prior, review.prior_mrn), (surviving, review.surviving_mrn)):
        if patient is not None and patient.mrn != mrn:
            # Another change (an identifier change or merge applied since) moved the MRN: these
            # may no longer be the records the feed meant. Never merge on a stale match.
            raise DomainError(
                f"Patient {patient.pk} no longer has MRN {mrn}: the records changed since this "
                "merge was asked for. Reject it and check both records.",
                code="merge_stale",
            )
    if prior is None:
        return f"No patient had MRN {review.prior_mrn} here: nothing to change."
    if surviving is None or surviving.pk == prior.pk:
        try:
            patient_identifier_change(patient_id=prior.pk, mrn=review.surviving_mrn)
        except ValueError as error:
            raise DomainError(f"Cannot apply: {error}.", code="merge") from error
        return f"Patient {prior.pk}: MRN {review.prior_mrn} changed to {review.surviving_mrn}."
    moved = patient_merge(surviving_id=surviving.pk, merged_id=prior.pk)
    counts = ", ".join(f"{n} {label.split('.')[-1].lower()}" for label, n in moved.items())
    return f"Patient {prior.pk} merged into {surviving.pk}: moved {counts or 'nothing'}."
