"""Periodic work of access (refloop_scheduler). Each job claims its due rows with a lease, so any
number of schedulers can run at once. Each block below belongs to one part of access; JOBS at the
end lists them all."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from refloop.access.models import Authorization, AuthorizationStatus
from refloop.access.services.authorization import (
    STARTABLE_STATES,
    authorization_expire,
    authorization_start,
)
from refloop.access.services.calendars import slots_generate, tna_measure, tna_measure_time
from refloop.alerts.queries import holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.calendar import practice_calendar
from refloop.core.errors import DomainError
from refloop.core.scheduling import Job, period_claim, period_finish, rows_claim
from refloop.directory.models import ServiceLine
from refloop.referrals.enums import State
from refloop.referrals.models import Referral

log = logging.getLogger("refloop.scheduler")

BATCH = 500
# A crossing older than this is not alerted (the scheduler was off): the page shows it anyway.
LOOKBACK = dt.timedelta(days=7)


def _owners(referral, cache: dict) -> tuple[int, ...]:
    """The referral's assignee, or everyone who schedules (access work is scheduling work)."""
    if referral.assignee_id:
        return (referral.assignee_id,)
    if "schedulers" not in cache:
        cache["schedulers"] = tuple(holders_of("schedule_referral"))
    return cache["schedulers"]


def _local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%b %-d %H:%M")


# Authorization ----------------------------------------------------------------------------------


# The referral page starts the authorization as it accepts; this pass is the safety net for
# referrals accepted some other way. Older ones have been looked at by earlier passes (or by a
# person), so a pass reads only the recent ones, not the whole table.
START_LOOKBACK = dt.timedelta(days=30)


def authorizations_start(now: dt.datetime) -> int:
    """Decide the authorization of recently accepted referrals that have none yet (one batch a
    pass)."""
    ids = list(
        # Only referrals whose acceptance has happened by `now` (a simulated clock may be behind).
        Referral.objects.filter(
            state__in=STARTABLE_STATES,
            authorization__isnull=True,
            state_changed_at__gte=now - START_LOOKBACK,
            state_changed_at__lte=now,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    started = 0
    for referral_id in ids:
        try:
            authorization_start(referral_id=referral_id, actor=None)
            started += 1
        except DomainError as error:
            # The referral moved on meanwhile; the next pass sees it as it is then.
            log.info("authorization start %s skipped (%s)", referral_id, error.code)
    return started


def authorizations_watch(now: dt.datetime) -> int:
    """Submissions past their target are alerted; approvals past their validity with no visit
    expire. Only the rows whose `next_check_at` has come are read."""
    handled, cache = 0, {}
    while True:
        ids = rows_claim(
            Authorization.objects.filter(next_check_at__lte=now).order_by(), now=now, limit=BATCH
        )
        if not ids:
            return handled
        for authorization_id in ids:
            _authorization_check(authorization_id, now, cache)
        handled += len(ids)


def _authorization_check(authorization_id: int, now: dt.datetime, cache: dict) -> None:
    with transaction.atomic():
        # Locked (PostgreSQL): a person approving or resubmitting meanwhile waits for this check.
        authorization = (
            Authorization.objects.select_for_update(of=("self",))
            .select_related("referral")
            .filter(pk=authorization_id, next_check_at__lte=now)
            .first()
        )
        if authorization is None:  # decided meanwhile
            return
        spec = None
        if authorization.status == AuthorizationStatus.SUBMITTED:
            spec = _overdue(authorization, now, cache)
        elif authorization.status == AuthorizationStatus.APPROVED:
            spec = _expired(authorization, now, cache)
        if spec is not None and spec.recipient_ids:
            alerts_raise(specs=[spec], now=now)
        _check_done(authorization_id, seen=authorization.next_check_at)


def _check_done(authorization_id: int, *, seen: dt.datetime) -> None:
    """Free the row; clear its next check only if it is still the one this pass handled (a new
    submission or approval has set a check of its own, which must stay)."""
    Authorization.objects.filter(pk=authorization_id, next_check_at=seen).update(next_check_at=None)
    Authorization.objects.filter(pk=authorization_id).update(lease_until=None)


def _overdue(authorization, now, cache) -> AlertSpec | None:
    referral = authorization.referral
    if not referral.is_open or now - authorization.due_at > LOOKBACK:
        return None
    return AlertSpec(
        # Once per submission: a new submission has a clock (and an alert) of its own.
        key=f"authorization_overdue:{authorization.pk}:{int(authorization.submitted_at.timestamp())}",
        recipient_ids=_owners(referral, cache),
        kind="authorization_overdue",
        referral_id=referral.pk,
        text=f"{referral.number}: the payer's authorization decision is overdue "
        f"(due {_local(authorization.due_at)}).",
    )


def _expired(authorization, now, cache) -> AlertSpec | None:
    referral = authorization.referral
    if not authorization_expire(authorization_id=authorization.pk, now=now):
        return None
    if not referral.is_open:
        return None
    return AlertSpec(
        key=f"authorization_expired:{authorization.pk}:{authorization.valid_to:%Y%m%d}",
        recipient_ids=_owners(referral, cache),
        kind="authorization_expired",
        referral_id=referral.pk,
        level="urgent",
        text=f"{referral.number}: the authorization ran out on "
        f"{authorization.valid_to:%Y-%m-%d}, before the visit.",
    )


# Patient contact --------------------------------------------------------------------------------


def contact_attempts_due(now: dt.datetime) -> int:
    """Once an hour: alert the owner of each accepted referral whose patient nobody has tried
    to reach for a business day (since acceptance or the last attempt)."""
    period = timezone.localtime(now).strftime("%Y-%m-%dT%H")
    if not period_claim(job="contact_attempts_due", period=period, now=now):
        return 0
    calendar = practice_calendar()
    day = calendar.hours.seconds_per_day
    # A business day is at least a calendar day: older than that, and newer than the lookback.
    loose, oldest = now - dt.timedelta(days=1), now - LOOKBACK
    candidates = (
        Referral.objects.filter(
            state=State.ACCEPTED, first_contact_at__isnull=True, state_changed_at__lte=loose
        )
        .exclude(contact_attempts__occurred_at__gt=loose)
        .annotate(last_attempt=Max("contact_attempts__occurred_at"))
        .filter(Q(state_changed_at__gte=oldest) | Q(last_attempt__gte=oldest))
        .only("id", "state_changed_at", "assignee_id")
        .order_by()
    )
    specs, cache = [], {}
    for referral in candidates.iterator(chunk_size=BATCH):
        since = max(referral.state_changed_at, referral.last_attempt or referral.state_changed_at)
        if since < oldest or calendar.seconds_between(since, now) < day:
            continue
        specs.append(
            AlertSpec(
                key=f"contact_due:{referral.pk}:{int(since.timestamp())}",
                recipient_ids=_owners(referral, cache),
                kind="contact_due",
                referral_id=referral.pk,
                text=f"{referral.number}: contact attempts due (none since {_local(since)}).",
            )
        )
    alerts_raise(specs=[s for s in specs if s.recipient_ids], now=now)
    period_finish(job="contact_attempts_due", period=period)
    return len(specs)


AUTHORIZATION_AND_CONTACT_JOBS = [
    Job("authorizations_start", authorizations_start, every=dt.timedelta(minutes=10)),
    Job("authorizations_watch", authorizations_watch),
    Job("contact_attempts_due", contact_attempts_due, every=dt.timedelta(minutes=5)),
]


# Reminders and waitlist offers ------------------------------------------------------------------

PATIENT_BATCH = 200


def reminders_send(now: dt.datetime) -> int:
    """Queue the reminders that have fallen due; returns appointments handled."""
    from refloop.access.models import Appointment
    from refloop.access.services.reminders import reminder_send_due

    handled = 0
    while True:
        ids = rows_claim(
            Appointment.objects.filter(next_reminder_at__lte=now).order_by(),
            now=now,
            limit=PATIENT_BATCH,
            lease_field="reminder_lease_until",
        )
        if not ids:
            return handled
        for appointment_id in ids:
            try:
                reminder_send_due(appointment_id=appointment_id, now=now)
            except Exception:
                # One bad row must not hold up the others; its lease runs out and it is retried.
                log.exception("reminder for appointment %s failed", appointment_id)
        handled += len(ids)


def waitlist_offers_watch(now: dt.datetime) -> int:
    """Expire offers that ran out and offer their slots to the next patients."""
    from refloop.access.models import WaitlistOffer
    from refloop.access.services.waitlist import waitlist_offers_expire

    handled = 0
    while True:
        ids = rows_claim(
            WaitlistOffer.objects.filter(status="offered", expires_at__lte=now).order_by(),
            now=now,
            limit=PATIENT_BATCH,
        )
        if not ids:
            return handled
        waitlist_offers_expire(offer_ids=ids, now=now)
        handled += len(ids)


PATIENT_JOBS = [
    Job("reminders_send", reminders_send, every=dt.timedelta(minutes=1)),
    Job("waitlist_offers_watch", waitlist_offers_watch, every=dt.timedelta(minutes=1)),
]


# Calendars --------------------------------------------------------------------------------------


def horizon_days() -> int:
    return int(getattr(settings, "REFLOOP_SLOT_HORIZON_DAYS", 42))


def calendars_daily(now: dt.datetime) -> int:
    """Once a day, at the measuring time: make the slots of the coming weeks, then measure the
    third next available. Exactly one scheduler does it (period_claim); returns rows measured."""
    local = timezone.localtime(now)
    day, at = local.date(), tna_measure_time()
    if local.time() < at:
        return 0
    if not period_claim(job="tna", period=day.isoformat(), now=now):
        return 0
    lines = ServiceLine.objects.filter(active=True, uses_calendar=True).values_list("pk", flat=True)
    for line_id in lines:
        slots_generate(
            service_line_id=line_id, start=day, end=day + dt.timedelta(days=horizon_days())
        )
    rows = tna_measure(day=day, at=at)
    period_finish(job="tna", period=day.isoformat())
    return len(rows)


CALENDAR_JOBS = [Job("calendars_daily", calendars_daily, every=dt.timedelta(minutes=5))]

JOBS = [*AUTHORIZATION_AND_CONTACT_JOBS, *PATIENT_JOBS, *CALENDAR_JOBS]
