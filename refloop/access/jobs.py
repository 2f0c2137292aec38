"""Periodic work of access (refloop_scheduler). Each job claims its due rows with a lease, so any
number of schedulers can run at once."""

from __future__ import annotations

import datetime as dt
import logging

from refloop.core.scheduling import Job, rows_claim

log = logging.getLogger("refloop.scheduler")

# Patient contact: reminders and waitlist offers (helper E) ----------------------------------

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

JOBS = [*PATIENT_JOBS]
