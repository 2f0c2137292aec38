"""Keeping the fact table current (refloop_scheduler), never on page load (DESIGN.md, Metrics).

- facts_follow reads ReferralEvents as an outbox, like loop.jobs.referrer_updates: a cursor
  (FactCursor) claimed with a lease, the events after it in id order, BATCH at a time, only those
  recorded more than SETTLE ago (a transaction holding a lower id may still commit). Each batch
  rebuilds the facts of the referrals it touches, and the rows and the cursor's advance commit
  together: a pass killed midway leaves the cursor before the events it did not finish, and the
  next pass rebuilds them (a rebuild is idempotent: it replaces the rows).
  Late commits: an event that commits after the cursor passed its id is found by the row's
  `events_through` (the highest event id it was built from; one referral's events commit in id
  order, as each change claims the referral first; the one exception, a checklist tick without
  a form version, carries nothing the facts read): each pass rebuilds referrals with events
  recorded within LATE_WINDOW, at or below the cursor, above their row's events_through.
- Changing targets or closures changes past judgements and business durations: call
  sources.facts_rebuild_all (the job only follows events).
- facts_open_refresh, once a day: open referrals' rows are rebuilt so that the time in their
  current state and their open blockers (counted up to the build) are at most a day old.
  Why stored, not computed on read: the fact table is the one thing metrics read (and the audit
  command builds the same frame from a file); computing open intervals at read time would put
  the business calendar and the referral's current state and blocker start times into every
  read. A day's resolution is what ageing and bottleneck views need; open referrals are a small
  share of all, so the daily pass is cheap (sources.CHUNK at a time).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from refloop.analytics.models import FactCursor, ReferralFact
from refloop.analytics.sources import facts_rebuild_all, facts_refresh
from refloop.core.scheduling import DEFAULT_LEASE, Job, period_claim, period_finish, rows_claim
from refloop.referrals.enums import OPEN_STATES
from refloop.referrals.models import Referral, ReferralEvent

FACTS_CURSOR = "facts"
SETTLE = dt.timedelta(seconds=2)
LATE_WINDOW = dt.timedelta(minutes=10)
BATCH = 2000


def facts_follow(now: dt.datetime) -> int:
    """Rebuild the facts of referrals with events since the cursor; returns events read."""
    _cursor_ensure()
    if not rows_claim(FactCursor.objects.filter(name=FACTS_CURSOR), now=now, limit=1):
        return 0  # another scheduler holds it
    read = 0
    try:
        _late_refresh(now)
        while True:
            count = _batch(now)
            read += count
            if count < BATCH:
                return read
    finally:
        FactCursor.objects.filter(name=FACTS_CURSOR).update(lease_until=None)


def facts_cursor_start(*, after_event_id: int) -> None:
    """Start (or move) the cursor after `after_event_id`: after facts_rebuild_all the events
    before it are already in the rows (the demo load, an import)."""
    FactCursor.objects.update_or_create(
        name=FACTS_CURSOR, defaults={"last_event_id": after_event_id}
    )


def facts_load(*, now: dt.datetime | None = None, progress=None) -> int:
    """Every referral's facts rebuilt and the cursor set past the events they were built from
    (after the demo load or a bulk import). The cursor is read first: an event recorded during
    the rebuild is read again by the job, which is harmless (a rebuild replaces the row)."""
    last = ReferralEvent.objects.aggregate(m=Max("id"))["m"] or 0
    written = facts_rebuild_all(now=now, progress=progress)
    facts_cursor_start(after_event_id=last)
    return written


def _cursor_ensure() -> None:
    # A new installation reads from the first event: every referral gets its row.
    if FactCursor.objects.filter(name=FACTS_CURSOR).exists():
        return
    try:
        with transaction.atomic():
            FactCursor.objects.create(name=FACTS_CURSOR, last_event_id=0)
    except IntegrityError:
        pass  # another scheduler made it first


def _batch(now: dt.datetime) -> int:
    with transaction.atomic():
        cursor = FactCursor.objects.select_for_update().get(name=FACTS_CURSOR)
        events = list(
            ReferralEvent.objects.filter(id__gt=cursor.last_event_id, recorded_at__lte=now - SETTLE)
            .order_by("id")
            .values_list("id", "referral_id")[:BATCH]
        )
        if not events:
            return 0
        facts_refresh(referral_ids={referral_id for _, referral_id in events}, now=now)
        cursor.last_event_id = events[-1][0]
        cursor.lease_until = now + DEFAULT_LEASE  # still ours for the next batch
        cursor.save(update_fields=["last_event_id", "lease_until", "updated_at"])
    return len(events)


def _late_refresh(now: dt.datetime) -> int:
    """Referrals with an event at or below the cursor that their row has not seen."""
    last = FactCursor.objects.get(name=FACTS_CURSOR).last_event_id
    recent = dict(
        ReferralEvent.objects.filter(
            id__lte=last, recorded_at__gte=now - LATE_WINDOW, recorded_at__lte=now
        )
        .values("referral_id")
        .annotate(top=Max("id"))
        .values_list("referral_id", "top")
    )
    if not recent:
        return 0
    built = dict(
        ReferralFact.objects.filter(referral_id__in=recent).values_list(
            "referral_id", "events_through"
        )
    )
    stale = [r for r, top in recent.items() if built.get(r, 0) < top]
    return facts_refresh(referral_ids=stale, now=now) if stale else 0


def facts_open_refresh(now: dt.datetime) -> int:
    """Once a day: rebuild the rows of open referrals (their time in state grows)."""
    day = timezone.localdate(now).isoformat()
    if not period_claim(job="facts_open_refresh", period=day, now=now):
        return 0
    ids = Referral.objects.filter(state__in=OPEN_STATES).values_list("pk", flat=True)
    refreshed = facts_refresh(referral_ids=list(ids.iterator()), now=now)
    period_finish(job="facts_open_refresh", period=day)
    return refreshed


JOBS = [
    Job("facts_follow", facts_follow),
    Job("facts_open_refresh", facts_open_refresh, every=dt.timedelta(minutes=10)),
]
