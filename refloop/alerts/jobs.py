"""Periodic work of alerts: watch the referrals' clocks and states (refloop_scheduler).

Each changed referral gets `next_check_at = now` from the referral services. This job claims the
referrals whose check is due, raises the alerts that have fallen due since (at risk, breached,
escalated to the managers, stale in one state) and sets the next moment something could fall due,
so a pass reads only the referrals that need it, not every open one.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse

from refloop.alerts.models import Alert
from refloop.alerts.queries import STATE_OWNER_PERMISSION, holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.calendar import AroundTheClock, practice_calendar
from refloop.core.scheduling import Job
from refloop.directory.enums import TargetKind
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.services import message_queue
from refloop.referrals.models import Referral, ReferralClock
from refloop.referrals.services.checks import referral_checks_advance, referral_checks_claim

# A crossing older than this is not alerted (the scheduler was off, or the demo's history):
# the worklist shows it as breached; an alert about last month helps nobody.
LOOKBACK = dt.timedelta(days=7)
BATCH = 1000
MANAGER_PERMISSION = "assign_referral"


class People:
    """Who is told, read once per pass."""

    def __init__(self):
        self._cache: dict[str, tuple[int, ...]] = {}

    def holding(self, permission: str) -> tuple[int, ...]:
        if permission not in self._cache:
            self._cache[permission] = tuple(holders_of(permission))
        return self._cache[permission]

    def owners(self, referral: Referral) -> tuple[int, ...]:
        if referral.assignee_id:
            return (referral.assignee_id,)
        return self.holding(STATE_OWNER_PERMISSION[referral.state])


def referral_alerts_due(
    referral: Referral, now: dt.datetime, people: People, calendar
) -> tuple[list[AlertSpec], dt.datetime | None]:
    """The alerts due for one referral now, and when to look again (None: nothing can fall due)."""
    if not referral.is_open:
        return [], None
    due: list[AlertSpec] = []
    later: list[dt.datetime] = []

    def consider(at: dt.datetime, spec_for) -> None:
        if at > now:
            later.append(at)
        elif now - at <= LOOKBACK:
            due.append(spec_for())

    line = referral.service_line
    for clock in referral.clocks.all():
        if clock.stopped_at or clock.paused_since or clock.due_at is None:
            continue
        label = TargetKind(clock.kind).label
        stamp = f"{referral.pk}:{clock.kind}:{int(clock.started_at.timestamp())}"
        # Stat targets run around the clock (DESIGN.md, Clocks): so does their escalation.
        measure = AroundTheClock() if clock.around_the_clock else calendar
        escalate_at = measure.add(clock.due_at, line.escalate_after_hours * 3600)
        owners = people.owners(referral)
        consider(
            clock.at_risk_at,
            lambda c=clock, lb=label, s=stamp, o=owners: AlertSpec(
                key=f"clock_at_risk:{s}",
                recipient_ids=o,
                kind="clock_at_risk",
                referral_id=referral.pk,
                text=f"{referral.number}: {lb} is at risk (due {_local(c.due_at)}).",
            ),
        )
        consider(
            clock.due_at,
            lambda c=clock, lb=label, s=stamp, o=owners: AlertSpec(
                key=f"clock_breached:{s}",
                recipient_ids=o,
                kind="clock_breached",
                referral_id=referral.pk,
                level="urgent",
                text=f"{referral.number}: {lb} is overdue (was due {_local(c.due_at)}).",
            ),
        )
        consider(
            escalate_at,
            lambda c=clock, lb=label, s=stamp: AlertSpec(
                key=f"clock_escalated:{s}",
                recipient_ids=people.holding(MANAGER_PERMISSION),
                kind="clock_escalated",
                referral_id=referral.pk,
                level="urgent",
                text=f"{referral.number}: {lb} still overdue since {_local(c.due_at)}.",
            ),
        )
    stale_at = referral.state_changed_at + dt.timedelta(days=line.stale_after_days)
    consider(
        stale_at,
        lambda: AlertSpec(
            key=f"stale:{referral.pk}:{referral.state}:{int(referral.state_changed_at.timestamp())}",
            recipient_ids=people.owners(referral),
            kind="stale",
            referral_id=referral.pk,
            text=(
                f"{referral.number} has been {referral.get_state_display().lower()} for "
                f"{line.stale_after_days} days."
            ),
        ),
    )
    return [spec for spec in due if spec.recipient_ids], min(later, default=None)


def _local(at: dt.datetime) -> str:
    from django.utils import timezone

    return timezone.localtime(at).strftime("%b %-d %H:%M")


def referrals_watch(now: dt.datetime) -> int:
    """Handle every referral whose check is due, in batches; returns how many."""
    people = People()
    calendar = practice_calendar()
    handled = 0
    while True:
        ids = referral_checks_claim(now=now, limit=BATCH)
        if not ids:
            return handled
        _watch_batch(ids, now, people, calendar)
        handled += len(ids)


def _watch_batch(ids: list[int], now: dt.datetime, people: People, calendar) -> None:
    referrals = (
        Referral.objects.filter(pk__in=ids)
        .select_related("service_line")
        .only(
            "id",
            "state",
            "state_changed_at",
            "assignee_id",
            "next_check_at",
            "service_line__escalate_after_hours",
            "service_line__stale_after_days",
        )
        .prefetch_related(Prefetch("clocks", queryset=ReferralClock.objects.order_by()))
    )
    specs, next_checks = [], {}
    for referral in referrals:
        due, next_at = referral_alerts_due(referral, now, people, calendar)
        specs.extend(due)
        next_checks[referral.pk] = (referral.next_check_at, next_at)
    with transaction.atomic():
        alerts_raise(specs=specs, now=now)
        referral_checks_advance(ids=ids, next_checks=next_checks)


# E-mail of new alerts ------------------------------------------------------------------------

EMAIL_LOOKBACK = dt.timedelta(days=1)  # alerts raised while e-mail was off are not sent later


def alerts_email(now: dt.datetime) -> int:
    """E-mail each person their new (unread, not yet e-mailed) alerts in one message. The
    message names referral numbers only. Returns how many messages were queued."""
    if not settings.REFLOOP_ALERT_EMAIL:
        return 0
    rows = (
        Alert.objects.filter(
            emailed_at__isnull=True,
            read_at__isnull=True,
            created_at__gte=now - EMAIL_LOOKBACK,
            recipient__is_active=True,
        )
        .exclude(recipient__email="")
        .order_by("recipient_id", "id")
        .values_list("id", "recipient_id", "recipient__email", "referral_id", "kind")
    )
    per_person: dict[int, list] = {}
    for row in rows:
        per_person.setdefault(row[1], []).append(row)
    return sum(_alerts_email_one(alerts, now) for alerts in per_person.values())


def _alerts_email_one(alerts: list, now: dt.datetime) -> int:
    # The key is the oldest alert of the message: two schedulers reading the same alerts queue
    # one message; one that saw an extra alert leaves it for the next pass.
    first_id, recipient_id, email = alerts[0][0], alerts[0][1], alerts[0][2]
    count = len(alerts)
    lines = [
        f"- {Referral(pk=referral_id).number if referral_id else 'General'}: "
        f"{kind.replace('_', ' ')}"
        for _, _, _, referral_id, kind in alerts
    ]
    body = "\n".join(
        [
            f"You have {count} new alert{'s' if count != 1 else ''} in Refloop:",
            "",
            *lines,
            "",
            f"See them: {settings.REFLOOP_BASE_URL}{reverse('alerts')}",
        ]
    )
    with transaction.atomic():
        _, created = message_queue(
            audience=Audience.STAFF,
            purpose=Purpose.ALERT,
            channel=MessageChannel.EMAIL,
            to_address=email,
            subject=f"Refloop: {count} new alert{'s' if count != 1 else ''}",
            body=body,
            dedupe_key=f"alerts-email:{recipient_id}:{first_id}",
        )
        if not created:
            return 0
        Alert.objects.filter(pk__in=[a[0] for a in alerts]).update(emailed_at=now)
    return 1


JOBS = [Job("referrals_watch", referrals_watch), Job("alerts_email", alerts_email)]
