"""Attempts to reach the patient. The first success is the first-contact milestone; failures open
the PATIENT_NOT_REACHED blocker, and enough of them over enough business days cancel the
referral as unable to reach (the loop tells the referrer, from the cancelled event)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from refloop.access.models import ContactAttempt, ContactChannel, ContactOutcome
from refloop.access.models.contact import CHANNEL_OUTCOMES
from refloop.access.services.times import blocker_resolve_if_open, checked_time
from refloop.core.calendar import BusinessCalendar, practice_calendar
from refloop.core.errors import DomainError, NotFound
from refloop.referrals.enums import BlockerKind, CancelReason, Milestone, State
from refloop.referrals.models import Referral
from refloop.referrals.services import blocker_open, milestone_record, referral_transition, require

# The patient must be reached to book: a referral waiting for a booking is cancelled when they
# cannot be. One with a visit booked is not (the visit may still happen).
CANCEL_WHEN_UNREACHABLE = frozenset({State.ACCEPTED, State.NO_SHOW})


@transaction.atomic
def contact_attempt_record(
    *,
    referral_id: int,
    channel: str,
    outcome: str,
    actor,
    occurred_at: dt.datetime | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> ContactAttempt:
    require(actor, "schedule_referral")
    if channel not in ContactChannel.values:
        raise DomainError("Choose how the patient was contacted.", code="channel")
    if outcome not in CHANNEL_OUTCOMES[channel]:
        raise DomainError(
            f"That outcome does not fit a {ContactChannel(channel).label.lower()}.", code="outcome"
        )
    # Locked, so that two attempts recorded at once count each other (the limit is exact).
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("service_line")
        .filter(pk=referral_id)
        .first()
    )
    if referral is None:
        raise NotFound("No such referral.")
    if not referral.is_open:
        raise DomainError("This referral has ended.", code="ended")
    at = checked_time(
        occurred_at, not_before=referral.state_changed_at, last_step="the referral's last change"
    )

    attempt = ContactAttempt.objects.create(
        referral=referral, channel=channel, outcome=outcome, occurred_at=at, by=actor, note=note
    )
    if attempt.reached:
        _reached(referral, actor, at, expected_version)
    else:
        blocker_open(
            referral_id=referral.pk,
            kind=BlockerKind.PATIENT_NOT_REACHED,
            actor=actor,
            note=f"{ContactChannel(channel).label}: {ContactOutcome(outcome).label.lower()}.",
            occurred_at=at,
            expected_version=expected_version,
        )
        _cancel_if_unreachable(referral)
    return attempt


def _reached(referral: Referral, actor, at: dt.datetime, expected_version) -> None:
    if referral.first_contact_at is None:
        milestone_record(
            referral_id=referral.pk,
            milestone=Milestone.FIRST_CONTACT,
            actor=actor,
            occurred_at=at,
            expected_version=expected_version,
        )
    blocker_resolve_if_open(
        referral_id=referral.pk,
        kind=BlockerKind.PATIENT_NOT_REACHED,
        actor=actor,
        at=at,
        note="Patient reached.",
    )


def _cancel_if_unreachable(referral: Referral) -> None:
    """Cancel once `contact_attempt_limit` failed attempts since the last success span at least
    `contact_attempt_days` business days."""
    if referral.state not in CANCEL_WHEN_UNREACHABLE:
        return
    line = referral.service_line
    attempts = list(
        ContactAttempt.objects.filter(referral_id=referral.pk)
        .order_by("occurred_at", "id")
        .values_list("occurred_at", "outcome")
    )
    last_success = max(
        (i for i, (_, outcome) in enumerate(attempts) if outcome == ContactOutcome.REACHED),
        default=-1,
    )
    failures = [at for at, _ in attempts[last_success + 1 :]]
    if len(failures) < line.contact_attempt_limit:
        return
    days = business_days_spanned(failures[0], failures[-1], practice_calendar())
    if days < line.contact_attempt_days:
        return
    current = Referral.objects.only("state_changed_at").get(pk=referral.pk)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.CANCELLED,
        actor=None,  # the rule cancels, whoever recorded the last attempt
        reason=CancelReason.UNABLE_TO_REACH,
        note=f"Not reached after {len(failures)} attempts over {days} business days.",
        occurred_at=max(failures[-1], current.state_changed_at),
    )


def business_days_spanned(first: dt.datetime, last: dt.datetime, calendar: BusinessCalendar) -> int:
    """Business days after the first attempt's day, up to and including the last one's: attempts
    on a Monday and the next Monday span five."""
    day = timezone.localtime(first, calendar.tz).date() + dt.timedelta(days=1)
    end = timezone.localtime(last, calendar.tz).date()
    count = 0
    while day <= end:
        count += calendar.is_business_day(day)
        day += dt.timedelta(days=1)
    return count
