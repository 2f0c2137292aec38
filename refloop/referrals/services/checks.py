"""The referral's check times: when background work should next look at a referral (clock alerts,
stale states). Every change sets `next_check_at` to now (referral_claim); the watcher claims the
referrals whose check is due and, once it has looked, sets when to look again."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, DateTimeField, F, Value, When

from refloop.core.scheduling import rows_claim
from refloop.referrals.models import Referral


def referral_checks_claim(*, now: dt.datetime, limit: int) -> list[int]:
    """Claim (with a lease) up to `limit` referrals whose check is due; returns their ids."""
    return rows_claim(
        Referral.objects.filter(next_check_at__lte=now).order_by(),
        now=now,
        limit=limit,
        lease_field="check_lease_until",
    )


def referral_checks_advance(
    *, ids: list[int], next_checks: dict[int, tuple[dt.datetime | None, dt.datetime | None]]
) -> None:
    """Set each referral's next check ({id: (check time seen, next check)}) and free the claim,
    in one UPDATE. A referral changed meanwhile has a newer check time than the one seen: it
    keeps it, so the change is looked at on the next pass."""
    next_check = Case(
        *[
            When(pk=pk, next_check_at=seen, then=Value(next_at, output_field=DateTimeField()))
            for pk, (seen, next_at) in next_checks.items()
        ],
        default=F("next_check_at"),
    )
    Referral.objects.filter(pk__in=ids).update(next_check_at=next_check, check_lease_until=None)
