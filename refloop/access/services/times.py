"""Two small steps the access services share: checking the time a person says something
happened, and resolving a blocker the access work was waiting on."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from refloop.core.errors import DomainError
from refloop.referrals.models import ReferralBlocker
from refloop.referrals.services import blocker_resolve
from refloop.referrals.services.lifecycle import FUTURE_TOLERANCE


def checked_time(
    occurred_at: dt.datetime | None, *, not_before: dt.datetime, last_step: str
) -> dt.datetime:
    """`occurred_at` (None: now), refused if it is in the future or before `not_before` (the
    `last_step` the message names)."""
    now = timezone.now()
    at = occurred_at or now
    if at > now + FUTURE_TOLERANCE:
        raise DomainError("That time is in the future.", code="future_time")
    if at < not_before:
        raise DomainError(
            f"That time is before {last_step}; times cannot run backwards.", code="time_backwards"
        )
    return at


def blocker_resolve_if_open(
    *, referral_id: int, kind: str, actor, at: dt.datetime, note: str = ""
) -> None:
    """Resolve the blocker if it is open (someone may have resolved it by hand already), never
    before it was opened."""
    blocker = ReferralBlocker.objects.filter(
        referral_id=referral_id, kind=kind, resolved_at__isnull=True
    ).first()
    if blocker is None:
        return
    blocker_resolve(
        referral_id=referral_id,
        kind=kind,
        actor=actor,
        note=note,
        occurred_at=max(at, blocker.opened_at),
    )
