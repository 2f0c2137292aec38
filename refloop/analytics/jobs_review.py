"""The monthly review by e-mail, on a schedule: once a month, from REVIEW_SEND_HOUR local time
on its first day, last month's review goes to settings.REFLOOP_REVIEW_RECIPIENTS. Exactly one
scheduler sends it (core.scheduling.period_claim on the month); a scheduler that was down on the
1st sends it when it comes back. Nothing is sent when no one is on the list."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from refloop.analytics.review_services import review_email_send, review_month, review_recipients
from refloop.analytics.scope import month_before
from refloop.core.scheduling import Job, period_claim, period_finish

REVIEW_SEND_HOUR = 7  # the facts of the month's last day are rebuilt by then


def monthly_review_email(now: dt.datetime) -> int:
    """Returns how many recipients were sent the review this call."""
    local = timezone.localtime(now)
    recipients = review_recipients()
    if (local.day == 1 and local.hour < REVIEW_SEND_HOUR) or not recipients:
        return 0
    month = month_before(local.date())
    period = f"{month:%Y-%m}"
    if not period_claim(job="monthly_review_email", period=period, now=now):
        return 0
    sent = review_email_send(review=review_month(month=month, now=now), recipients=recipients)
    period_finish(job="monthly_review_email", period=period)
    return sent


JOBS = [Job("monthly_review_email", monthly_review_email, every=dt.timedelta(minutes=15))]
