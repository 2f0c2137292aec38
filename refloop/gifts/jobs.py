"""Periodic work of gifts (refloop_scheduler).

- gift_cures_overdue: an open repayment cure whose due date (the earlier of 180 days after the
  excess and 31 December) has passed without repayment fails, and compliance is alerted (an
  urgent alert, e-mailed by the alerts job). Each cure is failed by a conditional UPDATE
  (state open -> failed), which is the claim: two schedulers fail it, and alert, once.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from refloop.core.scheduling import Job
from refloop.gifts.queries import cures_overdue
from refloop.gifts.services import cure_fail

BATCH = 500


def gift_cures_overdue(now: dt.datetime) -> int:
    """Fail the cures past due; returns how many this pass failed."""
    today = timezone.localdate(now)
    ids = list(cures_overdue(today=today).order_by("due_on", "pk").values_list("pk", flat=True))
    return sum(cure_fail(cure_id=pk, today=today, now=now) for pk in ids[:BATCH])


JOBS = [Job("gift_cures_overdue", gift_cures_overdue, every=dt.timedelta(hours=1))]
