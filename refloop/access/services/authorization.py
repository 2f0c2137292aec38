"""Prior authorization per referral (DESIGN.md, issue 3: Authorization and coverage).

Whether a referral needs one is decided from the patient's primary coverage and the service
line's payer rules once the referral is accepted (the referral learns nothing of access, so the
scheduler or a person asks). Pending authorization is the AUTHORIZATION_PENDING blocker; a
submission has its own clock (the line's authorization_target_hours, in business hours).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from refloop.access.models import Authorization, AuthorizationStatus, PayerRule
from refloop.access.models.authorization import PENDING, RESUBMITTABLE
from refloop.access.services.times import blocker_resolve_if_open, checked_time
from refloop.core.calendar import practice_calendar
from refloop.core.errors import DomainError, NotFound
from refloop.directory.models import Coverage
from refloop.referrals.enums import BlockerKind, Milestone, State
from refloop.referrals.models import Referral
from refloop.referrals.services import blocker_open, milestone_record, require

# An authorization is looked for once the referral is accepted, and until the visit.
STARTABLE_STATES = frozenset({State.ACCEPTED, State.SCHEDULED, State.NO_SHOW})
PERMISSION = "schedule_referral"


def authorization_required(*, referral: Referral) -> tuple[bool, str]:
    """(required, payer) from the patient's primary coverage and the line's payer rules. No
    primary coverage, or a payer without a rule: not required."""
    coverage = (
        Coverage.objects.filter(patient_id=referral.patient_id, primary=True)
        .order_by("pk")
        .only("payer")
        .first()
    )
    if coverage is None:
        return False, ""
    payer = coverage.payer.strip()
    required = PayerRule.objects.filter(
        service_line_id=referral.service_line_id,
        payer__iexact=payer,
        requires_authorization=True,
    ).exists()
    return required, payer


@transaction.atomic
def authorization_start(
    *, referral_id: int, actor, occurred_at: dt.datetime | None = None
) -> Authorization:
    """Decide whether the referral needs an authorization and record it; a required one opens
    the AUTHORIZATION_PENDING blocker. Asking again changes nothing."""
    require(actor, PERMISSION)
    existing = Authorization.objects.filter(referral_id=referral_id).first()
    if existing is not None:
        return existing
    referral = (
        Referral.objects.filter(pk=referral_id)
        .only("id", "state", "patient_id", "service_line_id", "received_at")
        .first()
    )
    if referral is None:
        raise NotFound("No such referral.")
    if referral.state not in STARTABLE_STATES:
        raise DomainError(
            "Authorization is checked once the referral is accepted, before the visit.",
            code="not_accepted",
        )
    required, payer = authorization_required(referral=referral)
    at = _checked_time(referral, occurred_at, not_before=referral.received_at)
    status = AuthorizationStatus.TO_REQUEST if required else AuthorizationStatus.NOT_REQUIRED
    try:
        with transaction.atomic():
            authorization = Authorization.objects.create(
                referral_id=referral_id, status=status, payer=payer, created_at=at
            )
    except IntegrityError:
        # Another scheduler (or a person) started it a moment ago.
        return Authorization.objects.get(referral_id=referral_id)
    if required:
        blocker_open(
            referral_id=referral_id,
            kind=BlockerKind.AUTHORIZATION_PENDING,
            actor=actor,
            note="The payer requires prior authorization.",
            occurred_at=at,
        )
    return authorization


@transaction.atomic
def authorization_submit(
    *, referral_id: int, actor, occurred_at: dt.datetime | None = None
) -> Authorization:
    """The request went to the payer: its decision is due after the line's target hours."""
    require(actor, PERMISSION)
    authorization = _locked(referral_id)
    _check_status(authorization, RESUBMITTABLE, "submitted")
    referral = authorization.referral
    _check_open(referral)
    at = _checked_time(referral, occurred_at, not_before=authorization.created_at)
    hours = referral.service_line.authorization_target_hours
    authorization.status = AuthorizationStatus.SUBMITTED
    authorization.submitted_at = at
    authorization.due_at = practice_calendar().add(at, hours * 3600)
    authorization.next_check_at = authorization.due_at
    authorization.decided_at = None
    authorization.number, authorization.denial_reason = "", ""
    authorization.valid_from = authorization.valid_to = None
    authorization.save()
    # Pending again after a denial or an expiry (opening an open blocker changes nothing).
    blocker_open(
        referral_id=referral_id,
        kind=BlockerKind.AUTHORIZATION_PENDING,
        actor=actor,
        note="Authorization submitted to the payer.",
        occurred_at=at,
    )
    return authorization


@transaction.atomic
def authorization_approve(
    *,
    referral_id: int,
    number: str,
    valid_from: dt.date,
    valid_to: dt.date,
    actor,
    occurred_at: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Authorization:
    require(actor, PERMISSION)
    number = number.strip()
    if not number:
        raise DomainError("Enter the payer's authorization number.", code="number_required")
    if valid_to < valid_from:
        raise DomainError("The validity ends before it starts.", code="validity")
    authorization = _locked(referral_id)
    _check_status(authorization, PENDING, "approved")
    referral = authorization.referral
    at = _checked_time(referral, occurred_at, not_before=_decision_floor(authorization))
    authorization.status = AuthorizationStatus.APPROVED
    authorization.number = number
    authorization.valid_from, authorization.valid_to = valid_from, valid_to
    authorization.decided_at = at
    authorization.next_check_at = authorization_expires_at(valid_to)
    authorization.save()
    _decided(
        referral_id,
        actor,
        at,
        "approved",
        f"Approved, number {number}, valid {valid_from:%Y-%m-%d} to {valid_to:%Y-%m-%d}.",
        expected_version,
    )
    return authorization


@transaction.atomic
def authorization_deny(
    *,
    referral_id: int,
    reason: str,
    actor,
    occurred_at: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Authorization:
    require(actor, PERMISSION)
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the payer denied it.", code="reason_required")
    authorization = _locked(referral_id)
    _check_status(authorization, PENDING, "denied")
    referral = authorization.referral
    at = _checked_time(referral, occurred_at, not_before=_decision_floor(authorization))
    authorization.status = AuthorizationStatus.DENIED
    authorization.denial_reason = reason[:300]
    authorization.decided_at = at
    authorization.next_check_at = None
    authorization.save()
    _decided(referral_id, actor, at, "denied", f"Denied: {reason}", expected_version)
    return authorization


def _decided(referral_id, actor, at, decision: str, note: str, expected_version) -> None:
    """The payer decided: the milestone, then the blocker resolved. Waiting is over either way;
    after a denial the people decide what next (appeal, self-pay, cancel)."""
    milestone_record(
        referral_id=referral_id,
        milestone=Milestone.AUTHORIZATION_DECIDED,
        actor=actor,
        occurred_at=at,
        note=note,
        details={"authorization": decision},
        expected_version=expected_version,
    )
    _resolve_blocker(referral_id, actor, at)


@transaction.atomic
def authorization_expire(*, authorization_id: int, now: dt.datetime) -> bool:
    """An approval whose validity has passed with no visit in it becomes expired and the
    referral waits on a new one (the blocker opens again). True if it expired."""
    authorization = (
        Authorization.objects.select_for_update()
        .select_related("referral")
        .filter(pk=authorization_id, status=AuthorizationStatus.APPROVED)
        .first()
    )
    if authorization is None or authorization_expires_at(authorization.valid_to) > now:
        return False
    referral = authorization.referral
    if _visit_covered(referral, authorization):
        return False
    authorization.status = AuthorizationStatus.EXPIRED
    authorization.expired_at = now
    authorization.next_check_at = None
    authorization.save()
    if referral.is_open:
        blocker_open(
            referral_id=referral.pk,
            kind=BlockerKind.AUTHORIZATION_PENDING,
            actor=None,
            note="The authorization expired before the visit.",
        )
    return True


def authorization_expires_at(valid_to: dt.date) -> dt.datetime:
    """The authorization covers its last day whole: it runs out at the next midnight in the
    practice's time zone (settings.TIME_ZONE; validity dates are the practice's dates)."""
    tz = timezone.get_default_timezone()
    return dt.datetime.combine(valid_to + dt.timedelta(days=1), dt.time(0), tz)


def authorization_booking_problem(*, referral_id: int, starts_at: dt.datetime) -> str:
    """Why booking a visit at `starts_at` conflicts with the referral's authorization ("" if it
    does not): shown before the booking is made."""
    authorization = Authorization.objects.filter(referral_id=referral_id).first()
    if authorization is None:
        referral = (
            Referral.objects.filter(pk=referral_id).only("patient_id", "service_line_id").first()
        )
        if referral is not None and authorization_required(referral=referral)[0]:
            return "Authorization is required and has not been requested yet."
        return ""
    status = authorization.status
    if status == AuthorizationStatus.NOT_REQUIRED:
        return ""
    if status in PENDING:
        return "Authorization is still pending."
    if status == AuthorizationStatus.DENIED:
        return "Authorization was denied."
    if status == AuthorizationStatus.EXPIRED:
        return "The authorization has expired."
    day = timezone.localtime(starts_at).date()
    if authorization.valid_from <= day <= authorization.valid_to:
        return ""
    return (
        f"The authorization is valid {authorization.valid_from:%Y-%m-%d} to "
        f"{authorization.valid_to:%Y-%m-%d}; this visit is outside it."
    )


# Helpers --------------------------------------------------------------------------------------


def _locked(referral_id: int) -> Authorization:
    authorization = (
        Authorization.objects.select_for_update(of=("self",))
        .select_related("referral__service_line")
        .filter(referral_id=referral_id)
        .first()
    )
    if authorization is None:
        raise DomainError(
            "Check whether this referral needs an authorization first.", code="no_authorization"
        )
    return authorization


def _check_status(authorization: Authorization, allowed, verb: str) -> None:
    if authorization.status not in allowed:
        raise DomainError(
            f"An authorization that is {authorization.get_status_display().lower()} cannot be "
            f"{verb}.",
            code="authorization_status",
        )


def _check_open(referral: Referral) -> None:
    if not referral.is_open:
        raise DomainError("This referral has ended.", code="ended")


def _decision_floor(authorization: Authorization) -> dt.datetime:
    return authorization.submitted_at or authorization.created_at


def _checked_time(referral, occurred_at, *, not_before: dt.datetime) -> dt.datetime:
    return checked_time(
        occurred_at,
        not_before=max(not_before, referral.received_at),
        last_step="the authorization's last step",
    )


def _resolve_blocker(referral_id: int, actor, at: dt.datetime) -> None:
    blocker_resolve_if_open(
        referral_id=referral_id, kind=BlockerKind.AUTHORIZATION_PENDING, actor=actor, at=at
    )


def _visit_covered(referral: Referral, authorization: Authorization) -> bool:
    """The visit happened, or is booked, within the validity: nothing expired that matters."""
    if referral.completed_at is not None:
        return True
    if referral.state != State.SCHEDULED or referral.appointment_at is None:
        return False
    day = timezone.localtime(referral.appointment_at).date()
    return authorization.valid_from <= day <= authorization.valid_to
