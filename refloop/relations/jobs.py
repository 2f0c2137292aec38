"""Periodic work of relations (refloop_scheduler).

- standings_refresh, once a day: every referrer's standing recomputed from the fact table
  (relations.services.standings_refresh). It runs every 10 minutes and does the day's work once
  (period_claim); facts_open_refresh keeps the facts a day fresh, so once a day is enough for
  monthly counts and trends. Drop-off tasks (outreach) read the standings after it.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from refloop.core.scheduling import Job, period_claim, period_finish
from refloop.relations.services import standings_refresh


def standings_daily(now: dt.datetime) -> int:
    """Once a local day: refresh the standings; returns how many referrers."""
    day = timezone.localdate(now).isoformat()
    if not period_claim(job="standings_refresh", period=day, now=now):
        return 0
    count = standings_refresh(now=now)
    period_finish(job="standings_refresh", period=day)
    return count


JOBS = [Job("standings_refresh", standings_daily, every=dt.timedelta(minutes=10))]
