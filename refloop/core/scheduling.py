"""What the scheduler (`manage.py refloop_scheduler`) is made of: claiming due rows with a lease.

Periodic work is derived from domain rows (a message due, a clock about to breach). A job claims
the rows it will handle with a conditional UPDATE of their `lease_until` (on PostgreSQL after
`SELECT ... FOR UPDATE SKIP LOCKED`), so any number of schedulers can run at once and never take
the same row; a scheduler killed midway loses nothing, because its leases run out and another one
takes the rows again. What a job *does* with a row is idempotent on its own terms (a unique key on
every message or alert it writes), so a row handled twice after a crash still sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from refloop.core.models import JobRun

DEFAULT_LEASE = dt.timedelta(minutes=2)
# A once-a-period job (a day's slots and measures) may run for minutes: its lease must outlast it,
# or a second scheduler would take the period over while the first is still at work.
PERIOD_LEASE = dt.timedelta(minutes=30)


def scheduler_owner() -> str:
    """A name for this process in leases (host and pid: no PHI, unique enough)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def rows_claim(
    queryset: QuerySet,
    *,
    now: dt.datetime,
    limit: int = 500,
    lease: dt.timedelta = DEFAULT_LEASE,
    lease_field: str = "lease_until",
) -> list[int]:
    """Claim up to `limit` rows of `queryset` whose lease is free or has run out; return their
    ids. The caller handles each one and then frees or moves on its due time."""
    free = Q(**{f"{lease_field}__isnull": True}) | Q(**{f"{lease_field}__lt": now})
    with transaction.atomic():
        due = queryset.filter(free)
        if connection.vendor == "postgresql":
            # Rows another scheduler is claiming right now are skipped, not waited for.
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        # The conditional UPDATE is the claim itself (on SQLite the IMMEDIATE transaction has
        # already serialised us against other writers).
        queryset.model.objects.filter(free, pk__in=ids).update(**{lease_field: now + lease})
    return ids


def period_claim(*, job: str, period: str, now: dt.datetime, lease=PERIOD_LEASE) -> bool:
    """Claim a once-per-period job (say the daily third-next-available count): True for exactly
    one scheduler. A claim whose scheduler died unfinished is taken again when its lease ends."""
    owner = scheduler_owner()
    try:
        with transaction.atomic():
            JobRun.objects.create(
                job=job, period=period, started_at=now, lease_until=now + lease, owner=owner
            )
        return True
    except IntegrityError:
        pass
    return bool(
        JobRun.objects.filter(
            job=job, period=period, finished_at__isnull=True, lease_until__lt=now
        ).update(started_at=now, lease_until=now + lease, owner=owner)
    )


def period_finish(*, job: str, period: str) -> None:
    """Mark the period done, if this scheduler still holds it."""
    JobRun.objects.filter(job=job, period=period, owner=scheduler_owner()).update(
        finished_at=timezone.now()
    )


@dataclass(frozen=True)
class Job:
    """One kind of periodic work. `run(now)` handles what is due and returns how many rows it
    handled; `every` is how often the scheduler calls it."""

    name: str
    run: Callable[[dt.datetime], int]
    every: dt.timedelta = dt.timedelta(seconds=30)
