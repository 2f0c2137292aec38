"""State changes, milestones, blockers, assignment and corrections: each validates, writes, logs
an event and updates the clocks, in that order (DESIGN.md, The referral lifecycle)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from refloop.core.calendar import practice_calendar
from refloop.core.errors import Conflict, DomainError, NotAllowed, NotFound
from refloop.directory.enums import DocumentKind
from refloop.referrals import clocks
from refloop.referrals.enums import (
    REASONS_FOR,
    TRANSITIONS,
    WAITING_BLOCKERS,
    BlockerKind,
    EventKind,
    Milestone,
    State,
)
from refloop.referrals.models import Referral, ReferralBlocker, ReferralClock, ReferralEvent

# Who may move a referral into each state.
PERMISSION_FOR_STATE = {
    State.TRIAGE: "triage_referral",
    State.ACCEPTED: "triage_referral",
    State.DECLINED: "triage_referral",
    State.REDIRECTED: "triage_referral",
    State.SCHEDULED: "schedule_referral",
    State.NO_SHOW: "schedule_referral",
    State.COMPLETED: "schedule_referral",
    State.CLOSED: "close_referral",
    State.CANCELLED: "cancel_referral",
}
MILESTONE_PERMISSION = {
    Milestone.ACKNOWLEDGED: "receive_referral",
    Milestone.RECORDS_COMPLETE: "receive_referral",
    Milestone.FIRST_CONTACT: "schedule_referral",
    Milestone.AUTHORIZATION_DECIDED: "schedule_referral",
    Milestone.REPORT_DELIVERED: "close_referral",
    Milestone.REPORT_ACKNOWLEDGED: "close_referral",
}
# Clock skew we tolerate between a client's "now" and ours.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def require(actor, *permissions: str) -> None:
    """System actions (actor None: a channel, the scheduler) are trusted; people need one of the
    permissions."""
    if actor is not None and not any(actor.has_perm(f"core.{p}") for p in permissions):
        raise NotAllowed("Your role does not allow this action.")


def transition_permissions(from_state: str, to_state: str) -> set[str]:
    """The permissions that allow one state change (any one of them will do)."""
    if from_state == State.SCHEDULED and to_state == State.ACCEPTED:
        return {"schedule_referral"}  # an appointment cancelled is the scheduler's call
    allowed = {PERMISSION_FOR_STATE[to_state]}
    if (from_state, to_state) == (State.RECEIVED, State.TRIAGE):
        allowed.add("receive_referral")  # intake hands the referral on to triage
    return allowed


def referral_claim(*, referral_id: int, expected_version: int | None = None) -> Referral:
    """Take the referral for one change: a conditional UPDATE that bumps the version. On PostgreSQL
    it holds the row lock until commit, so a second writer waits and then sees the new version;
    with expected_version, a form built on an older version is refused instead of overwriting."""
    rows = Referral.objects.filter(pk=referral_id)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    # Every change also asks background work to look at the referral again (clock alerts).
    if not rows.update(version=F("version") + 1, next_check_at=timezone.now()):
        if not Referral.objects.filter(pk=referral_id).exists():
            raise NotFound("No such referral.")
        raise Conflict("Someone else changed this referral a moment ago. Reload to see it.")
    return Referral.objects.select_related("service_line").get(pk=referral_id)


def _check_time(referral: Referral, occurred_at: dt.datetime, now: dt.datetime) -> None:
    if occurred_at > now + FUTURE_TOLERANCE:
        raise DomainError("That time is in the future.", code="future_time")
    if occurred_at < referral.state_changed_at:
        raise DomainError(
            "That time is before the referral's last change; times cannot run backwards.",
            code="time_backwards",
        )


def clock_book_load(referral: Referral, *, new: bool = False) -> clocks.ClockBook:
    """`new`: the referral was just created and has no clocks to read."""
    return clocks.ClockBook(
        referral_id=referral.pk,
        priority=referral.priority,
        targets=clocks.targets_for(referral.service_line_id, referral.priority),
        calendar=practice_calendar(),
        clocks={} if new else {c.kind: c for c in referral.clocks.all()},
    )


def clock_book_save(
    referral: Referral, book: clocks.ClockBook, *, also: tuple[str, ...] = ()
) -> None:
    """Write the changed clocks and the referral's next due times (with the referral's fields
    named in `also`, in the same UPDATE)."""
    new = []
    for kind in book.changed:
        clock: ReferralClock = book.clocks[kind]
        clock.referral = referral
        if clock.pk is None:
            new.append(clock)  # a referral's first clocks come together: one INSERT
        else:
            clock.save()
    ReferralClock.objects.bulk_create(new)
    book.changed.clear()
    referral.next_due_at, referral.next_at_risk_at = book.next_times()
    Referral.objects.filter(pk=referral.pk).update(
        next_due_at=referral.next_due_at,
        next_at_risk_at=referral.next_at_risk_at,
        **{name: getattr(referral, name) for name in also},
    )


def event_append(*, referral: Referral, kind: str, actor, occurred_at, **fields) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral, kind=kind, actor=actor, occurred_at=occurred_at, **fields
    )


STATE_TIMESTAMPS = {
    State.ACCEPTED: "decided_at",
    State.DECLINED: "decided_at",
    State.REDIRECTED: "decided_at",
    State.COMPLETED: "completed_at",
    State.CLOSED: "closed_at",
}


@transaction.atomic
def referral_transition(
    *,
    referral_id: int,
    to_state: str,
    actor,
    reason: str = "",
    note: str = "",
    occurred_at: dt.datetime | None = None,
    expected_version: int | None = None,
    appointment_at: dt.datetime | None = None,
    details: dict | None = None,
    report_document_id: int | None = None,
) -> Referral:
    """The one function that changes a referral's state. Closing takes the report being sent
    (loop.services.report_send passes it), so a closed referral always has its report sent."""
    referral = referral_claim(referral_id=referral_id, expected_version=expected_version)
    from_state = referral.state
    now = timezone.now()
    occurred_at = occurred_at or now
    _validate_transition(
        referral, to_state, actor, reason, occurred_at, now, appointment_at, report_document_id
    )

    referral.state = to_state
    referral.state_changed_at = occurred_at
    referral.outcome_reason = reason if to_state in REASONS_FOR else referral.outcome_reason
    if to_state in STATE_TIMESTAMPS:
        setattr(referral, STATE_TIMESTAMPS[to_state], occurred_at)
    if to_state == State.SCHEDULED:
        referral.appointment_at = appointment_at
        referral.first_contact_at = referral.first_contact_at or occurred_at
    elif from_state == State.SCHEDULED and to_state == State.ACCEPTED:
        referral.appointment_at = None
    referral.save()

    event_details = dict(details or {})
    if appointment_at:
        event_details["appointment_at"] = appointment_at.isoformat()
    event_append(
        referral=referral,
        kind=EventKind.STATE_CHANGED,
        actor=actor,
        occurred_at=occurred_at,
        from_state=from_state,
        to_state=to_state,
        code=reason,
        note=note,
        details=event_details,
    )
    book = clock_book_load(referral)
    clocks.on_transition(
        book,
        from_state=from_state,
        to_state=to_state,
        at=occurred_at,
        appointment_at=appointment_at,
    )
    if _waiting(referral):
        # A clock started or reopened while the referral waits on others starts paused.
        clocks.on_waiting_changed(book, waiting=True, at=occurred_at)
    clock_book_save(referral, book)
    return referral


def _validate_transition(
    referral, to_state, actor, reason, occurred_at, now, appointment_at, report_document_id
):
    from_state = referral.state
    if to_state not in TRANSITIONS.get(from_state, ()):
        label = State(to_state).label.lower() if to_state in State.values else repr(to_state)
        raise DomainError(
            f"A referral that is {State(from_state).label.lower()} cannot become {label}.",
            code="transition_not_allowed",
        )
    require(actor, *transition_permissions(from_state, to_state))
    if to_state in REASONS_FOR and reason not in REASONS_FOR[to_state].values:
        raise DomainError("Choose a coded reason for this decision.", code="reason_required")
    if to_state == State.SCHEDULED and appointment_at is None:
        raise DomainError(
            "A booking needs the appointment's date and time.", code="appointment_required"
        )
    if (
        to_state == State.COMPLETED
        and referral.appointment_at
        and occurred_at < referral.appointment_at
    ):
        raise DomainError(
            "The visit cannot be completed before its appointment time.", code="too_early"
        )
    if to_state == State.CLOSED and not (
        report_document_id
        and referral.documents.filter(pk=report_document_id, kind=DocumentKind.REPORT).exists()
    ):
        raise DomainError(
            "A referral is closed by recording the consult report sent.", code="report_required"
        )
    _check_time(referral, occurred_at, now)


@transaction.atomic
def milestone_record(
    *,
    referral_id: int,
    milestone: str,
    actor,
    occurred_at=None,
    note: str = "",
    details=None,
    expected_version: int | None = None,
) -> Referral:
    """Record a milestone that does not change the state (acknowledged, first contact, ...)."""
    require(actor, MILESTONE_PERMISSION[milestone])
    referral = referral_claim(referral_id=referral_id, expected_version=expected_version)
    if not referral.is_open and milestone not in {
        Milestone.REPORT_DELIVERED,
        Milestone.REPORT_ACKNOWLEDGED,
    }:
        raise DomainError("This referral has ended.", code="ended")
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + FUTURE_TOLERANCE:
        raise DomainError("That time is in the future.", code="future_time")
    if occurred_at < referral.received_at:
        raise DomainError("That time is before the referral arrived.", code="time_backwards")
    if milestone == Milestone.ACKNOWLEDGED and not referral.acknowledged_at:
        referral.acknowledged_at = occurred_at
    if milestone == Milestone.FIRST_CONTACT and not referral.first_contact_at:
        referral.first_contact_at = occurred_at
    referral.save()
    event_append(
        referral=referral,
        kind=EventKind.MILESTONE,
        actor=actor,
        occurred_at=occurred_at,
        code=milestone,
        note=note,
        details=details or {},
    )
    book = clock_book_load(referral)
    clocks.on_milestone(book, milestone=milestone, at=occurred_at)
    clock_book_save(referral, book)
    return referral


def _waiting(referral: Referral) -> bool:
    return referral.blockers.filter(resolved_at__isnull=True, kind__in=WAITING_BLOCKERS).exists()


# Blockers are worked by everyone who works on referrals; never by liaison or compliance.
BLOCKER_PERMISSIONS = ("receive_referral", "triage_referral", "schedule_referral", "close_referral")


def _blocker_time(referral, occurred_at, *, not_before) -> dt.datetime:
    """Clocks pause and resume at these times, so they must not run backwards or ahead."""
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + FUTURE_TOLERANCE:
        raise DomainError("That time is in the future.", code="future_time")
    if occurred_at < referral.received_at:
        raise DomainError("That time is before the referral arrived.", code="time_backwards")
    if occurred_at < not_before:
        raise DomainError("That time is before the blocker was opened.", code="time_backwards")
    return occurred_at


@transaction.atomic
def blocker_open(
    *,
    referral_id: int,
    kind: str,
    actor,
    note: str = "",
    occurred_at=None,
    expected_version: int | None = None,
) -> Referral:
    require(actor, *BLOCKER_PERMISSIONS)
    if kind not in BlockerKind.values:
        raise DomainError("Unknown blocker.", code="blocker_kind")
    referral = referral_claim(referral_id=referral_id, expected_version=expected_version)
    if not referral.is_open:
        raise DomainError("This referral has ended.", code="ended")
    if referral.blockers.filter(kind=kind, resolved_at__isnull=True).exists():
        return referral
    occurred_at = _blocker_time(referral, occurred_at, not_before=referral.received_at)
    was_waiting = _waiting(referral)
    ReferralBlocker.objects.create(referral=referral, kind=kind, opened_at=occurred_at, note=note)
    _blockers_changed(
        referral, actor, EventKind.BLOCKER_OPENED, kind, note, occurred_at, was_waiting
    )
    return referral


@transaction.atomic
def blocker_resolve(
    *,
    referral_id: int,
    kind: str,
    actor,
    note: str = "",
    occurred_at=None,
    expected_version: int | None = None,
) -> Referral:
    require(actor, *BLOCKER_PERMISSIONS)
    referral = referral_claim(referral_id=referral_id, expected_version=expected_version)
    blocker = referral.blockers.filter(kind=kind, resolved_at__isnull=True).first()
    if blocker is None:
        raise DomainError("That blocker is not open.", code="not_open")
    occurred_at = _blocker_time(referral, occurred_at, not_before=blocker.opened_at)
    was_waiting = _waiting(referral)
    blocker.resolved_at = occurred_at
    blocker.save(update_fields=["resolved_at"])
    _blockers_changed(
        referral, actor, EventKind.BLOCKER_RESOLVED, kind, note, occurred_at, was_waiting
    )
    return referral


def _blockers_changed(referral, actor, event_kind, kind, note, occurred_at, was_waiting):
    referral.open_blocker_count = referral.blockers.filter(resolved_at__isnull=True).count()
    Referral.objects.filter(pk=referral.pk).update(open_blocker_count=referral.open_blocker_count)
    event_append(
        referral=referral,
        kind=event_kind,
        actor=actor,
        occurred_at=occurred_at,
        code=kind,
        note=note,
    )
    waiting = _waiting(referral)
    if waiting != was_waiting:
        book = clock_book_load(referral)
        clocks.on_waiting_changed(book, waiting=waiting, at=occurred_at)
        clock_book_save(referral, book)


@transaction.atomic
def referral_assign(*, referral_ids: list[int], assignee, actor) -> int:
    """Assign one or many referrals; returns how many changed."""
    require(actor, "assign_referral")
    if assignee is not None and not assignee.has_perm("core.view_phi"):
        raise DomainError("Referrals can only be assigned to people who work on patients.")
    now = timezone.now()
    changed = 0
    for referral_id in referral_ids:
        referral = referral_claim(referral_id=referral_id)
        if referral.assignee_id == (assignee.pk if assignee else None):
            continue
        referral.assignee = assignee
        referral.save(update_fields=["assignee", "updated_at"])
        event_append(
            referral=referral,
            kind=EventKind.ASSIGNED,
            actor=actor,
            occurred_at=now,
            details={"assignee_id": assignee.pk if assignee else None},
        )
        changed += 1
    return changed


@transaction.atomic
def event_correct(
    *, event_id: int, actor, note: str, expected_version: int | None = None
) -> ReferralEvent:
    """A manager marks an event as a mistake. The event stays; the correction points at it."""
    require(actor, "correct_event")
    if not note.strip():
        raise DomainError("Say what was wrong with the event.", code="note_required")
    event = ReferralEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound("No such event.")
    referral = referral_claim(referral_id=event.referral_id, expected_version=expected_version)
    return event_append(
        referral=referral,
        kind=EventKind.CORRECTION,
        actor=actor,
        occurred_at=timezone.now(),
        corrects=event,
        note=note,
    )


def note_add(*, referral_id: int, actor, text: str):
    from refloop.referrals.models import InternalNote

    require(actor, "view_phi")
    if not text.strip():
        raise DomainError("The note is empty.", code="note_empty")
    return InternalNote.objects.create(referral_id=referral_id, author=actor, text=text.strip())
