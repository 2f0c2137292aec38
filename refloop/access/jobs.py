"""Periodic work of access (refloop_scheduler)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from refloop.access.services.calendars import slots_generate, tna_measure, tna_measure_time
from refloop.core.scheduling import Job, period_claim, period_finish
from refloop.directory.models import ServiceLine


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


JOBS = [Job("calendars_daily", calendars_daily, every=dt.timedelta(minutes=5))]
