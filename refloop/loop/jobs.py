"""Periodic work of the loop with the referrer (refloop_scheduler).

- referrer_updates reads ReferralEvents as an outbox: a cursor (EventCursor) claimed with a lease,
  events after it in id order, in batches; the messages a batch queues and the cursor's advance
  commit together, and every message has the key "status:<event id>", so nothing goes twice.
  First run: the cursor starts after the last event recorded more than LOOKBACK ago, and events
  that *happened* more than LOOKBACK ago are skipped at any time (the demo loads months of
  back-dated history; none of it must reach a referrer now).
  Late commits: on PostgreSQL an event gets its id at insert, and its transaction may commit after
  the cursor passed that id. Each pass therefore also re-reads the events at or below the cursor
  recorded within LATE_WINDOW that have no status message yet; handling an event is idempotent
  (the "status:<event id>" key, follow-ups unique per name, records_resolve checks the blocker).
- referrer_digests: once a day (period_claim), yesterday's updates for digest referrers.
- records_asks: missing records asked again, escalated, resolved.
- followups_watch: overdue follow-ups alert the referral's owner.
- reports_delivery: a report whose message messaging marked delivered (the provider confirmed
  it; "sent" is not enough) gets its REPORT_DELIVERED milestone. Only reports sent within
  DELIVERY_WATCH are looked at: reports by letter, or recorded as sent outside Refloop, are never
  confirmed by a provider, and the undelivered set would otherwise only grow.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from refloop.core.scheduling import DEFAULT_LEASE, Job, period_claim, period_finish, rows_claim
from refloop.loop.models import EventCursor, FollowUpItem, RecordsRequest, ReportSent
from refloop.loop.services import (
    digest_send,
    followup_alert,
    followups_create,
    records_follow_up,
    records_resolve,
    report_delivered,
    status_update_send,
)
from refloop.loop.services.updates import UPDATE_EVENTS
from refloop.messaging.enums import MessageStatus
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import BlockerKind, EventKind, State
from refloop.referrals.models import ReferralEvent
from refloop.referrals.services import files_removed_on_failure

UPDATES_CURSOR = "referrer_updates"
LOOKBACK = dt.timedelta(days=7)
# Events younger than this wait for the next pass: on PostgreSQL a transaction holding a lower
# event id can commit after a higher one was read, and the cursor would step over it.
SETTLE = dt.timedelta(seconds=2)
# How late a transaction may commit and its event still be handled (see the module docstring).
LATE_WINDOW = dt.timedelta(minutes=10)
DELIVERY_WATCH = dt.timedelta(days=30)
BATCH = 500

# Every event _event_handle acts on.
HANDLED_EVENTS = UPDATE_EVENTS | Q(
    kind=EventKind.BLOCKER_RESOLVED, code=BlockerKind.MISSING_RECORDS
)

EVENT_SELECT = (
    "referral__patient",
    "referral__service_line",
    "referral__referring_clinician",
    "referral__referring_organization",
)


# Status updates (the outbox) ------------------------------------------------------------------


def referrer_updates(now: dt.datetime) -> int:
    """Handle the events recorded since the cursor; returns how many were read."""
    _cursor_ensure(now)
    if not rows_claim(EventCursor.objects.filter(name=UPDATES_CURSOR), now=now, limit=1):
        return 0  # another scheduler holds it
    handled = 0
    try:
        # Before the cursor moves: the late ones are then only those earlier passes stepped over.
        handled += _late_events(now)
        while True:
            count = _updates_batch(now)
            handled += count
            if count < BATCH:
                return handled
    finally:
        EventCursor.objects.filter(name=UPDATES_CURSOR).update(lease_until=None)


def _cursor_ensure(now: dt.datetime) -> None:
    if EventCursor.objects.filter(name=UPDATES_CURSOR).exists():
        return
    start = ReferralEvent.objects.filter(recorded_at__lt=now - LOOKBACK).aggregate(m=Max("id"))
    try:
        with transaction.atomic():
            EventCursor.objects.create(name=UPDATES_CURSOR, last_event_id=start["m"] or 0)
    except IntegrityError:
        pass  # another scheduler made it first


def referrer_updates_start(*, after_event_id: int) -> None:
    """Start (or move) the cursor after `after_event_id`: a bulk load of history (the demo, an
    import of last year's referrals) must not reach referrers now, nor be re-read every pass."""
    EventCursor.objects.update_or_create(
        name=UPDATES_CURSOR, defaults={"last_event_id": after_event_id}
    )


def _updates_batch(now: dt.datetime) -> int:
    with files_removed_on_failure(), transaction.atomic():
        cursor = EventCursor.objects.select_for_update().get(name=UPDATES_CURSOR)
        events = list(
            ReferralEvent.objects.filter(id__gt=cursor.last_event_id, recorded_at__lte=now - SETTLE)
            .select_related(*EVENT_SELECT)
            .order_by("id")[:BATCH]
        )
        if not events:
            return 0
        for event in events:
            if now - event.occurred_at <= LOOKBACK:
                _event_handle(event, now)
        cursor.last_event_id = events[-1].id
        cursor.lease_until = now + DEFAULT_LEASE  # still ours for the next batch
        cursor.save(update_fields=["last_event_id", "lease_until", "updated_at"])
    return len(events)


def _late_events(now: dt.datetime) -> int:
    """Events at or below the cursor, recorded within LATE_WINDOW, with no status message: handled
    (again, idempotently), in batches. Returns how many were handled."""
    handled, after = 0, 0
    while True:
        with files_removed_on_failure(), transaction.atomic():
            cursor = EventCursor.objects.select_for_update().get(name=UPDATES_CURSOR)
            events = list(
                ReferralEvent.objects.filter(
                    HANDLED_EVENTS,
                    id__gt=after,
                    id__lte=cursor.last_event_id,
                    # Never "recorded in the future": a bulk load of history stamped later than
                    # `now` (a simulated clock) must not be re-read every pass.
                    recorded_at__gte=now - LATE_WINDOW,
                    recorded_at__lte=now,
                )
                .select_related(*EVENT_SELECT)
                .order_by("id")[:BATCH]
            )
            keys = [f"status:{event.pk}" for event in events]
            # A status message is written in the same transaction as the rest of the handling.
            sent = set(
                OutboundMessage.objects.filter(dedupe_key__in=keys).values_list(
                    "dedupe_key", flat=True
                )
            )
            for event, key in zip(events, keys, strict=True):
                if key not in sent and now - event.occurred_at <= LOOKBACK:
                    _event_handle(event, now)
                    handled += 1
        if len(events) < BATCH:
            return handled
        after = events[-1].id


def _event_handle(event: ReferralEvent, now: dt.datetime) -> None:
    if event.kind == EventKind.STATE_CHANGED and event.to_state == State.COMPLETED:
        followups_create(referral=event.referral, visit_at=event.occurred_at)
    if event.kind == EventKind.BLOCKER_RESOLVED and event.code == BlockerKind.MISSING_RECORDS:
        records_resolve(referral_id=event.referral_id, now=now)
    status_update_send(event=event, now=now)


# Daily digests --------------------------------------------------------------------------------


def referrer_digests(now: dt.datetime) -> int:
    """Yesterday's updates, one message per digest referrer; returns how many digests."""
    today = timezone.localdate(now)
    day = today - dt.timedelta(days=1)
    if not period_claim(job="referrer_digest", period=day.isoformat(), now=now):
        return 0
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(0), tz)
    end = dt.datetime.combine(today, dt.time(0), tz)
    events = (
        ReferralEvent.objects.filter(
            UPDATE_EVENTS,
            recorded_at__gte=start,
            recorded_at__lt=end,
            occurred_at__gte=now - LOOKBACK,
            referral__referring_clinician__updates_as_digest=True,
        )
        .select_related(*EVENT_SELECT)
        .order_by("referral__referring_clinician_id", "id")
    )
    sent = 0
    for _, group in groupby(events.iterator(), key=lambda e: e.referral.referring_clinician_id):
        group = list(group)
        clinician = group[0].referral.referring_clinician
        sent += digest_send(clinician=clinician, events=group, day=day, now=now)
    period_finish(job="referrer_digest", period=day.isoformat())
    return sent


# Missing records and follow-ups ---------------------------------------------------------------


def records_asks(now: dt.datetime) -> int:
    due = RecordsRequest.objects.filter(resolved_at__isnull=True).filter(
        Q(next_ask_at__lte=now) | Q(escalated_at__isnull=True, escalate_at__lte=now)
    )
    handled = 0
    while ids := rows_claim(due.order_by(), now=now, limit=BATCH):
        for request_id in ids:
            records_follow_up(request_id=request_id, now=now)
        handled += len(ids)
    return handled


def followups_watch(now: dt.datetime) -> int:
    due = FollowUpItem.objects.filter(
        done_at__isnull=True, alerted_at__isnull=True, due_at__lte=now
    )
    handled = 0
    while ids := rows_claim(due.order_by(), now=now, limit=BATCH):
        for item_id in ids:
            followup_alert(item_id=item_id, now=now)
        handled += len(ids)
    return handled


def reports_delivery(now: dt.datetime) -> int:
    # The partial index report_sent_undelivered (sent_at, undelivered rows only) serves this.
    confirmed = ReportSent.objects.filter(
        delivered_at__isnull=True,
        sent_at__gte=now - DELIVERY_WATCH,
        message__status=MessageStatus.DELIVERED,
    ).order_by("sent_at", "id")
    handled = 0
    while rows := list(confirmed.values_list("pk", "message__delivered_at")[:BATCH]):
        for report_sent_id, delivered_at in rows:
            # report_delivered records once, so two schedulers here write one milestone.
            report_delivered(report_sent_id=report_sent_id, at=min(delivered_at or now, now))
        handled += len(rows)
        if len(rows) < BATCH:
            return handled
    return handled


JOBS = [
    Job("referrer_updates", referrer_updates),
    Job("referrer_digests", referrer_digests, every=dt.timedelta(minutes=10)),
    Job("records_asks", records_asks),
    Job("followups_watch", followups_watch),
    Job("reports_delivery", reports_delivery),
]
