"""Periodic work of outreach (refloop_scheduler).

- drop_off_tasks: every referrer standing with a drop-off alert (relations keeps the standings
  from analytics.metrics.referrers) becomes one task for its liaison, with the alert's figures
  and the monthly counts, once per referrer and alert month: the task's unique key makes a run
  repeated, or two schedulers at once, write it once. A referrer with no liaison waits until
  their practice is in a territory.
- invitations_send: event invitations whose task was lost (a worker down) are sent; one a
  sender died holding is marked failed, not sent again (it may have gone out).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from refloop.core.scheduling import Job
from refloop.outreach.enums import InvitationStatus
from refloop.outreach.models import FollowUp, Invitation
from refloop.outreach.services import drop_off_key, drop_off_task_write
from refloop.outreach.services.events import invitation_send
from refloop.relations.models import ReferrerStanding


def drop_off_tasks(now: dt.datetime) -> int:
    """Write the tasks not written yet this month; returns how many were written."""
    month = timezone.localdate(now).replace(day=1)
    written_keys = set(
        FollowUp.objects.filter(
            key__startswith="drop_off:", key__endswith=f":{month:%Y-%m}"
        ).values_list("key", flat=True)
    )
    standings = ReferrerStanding.objects.filter(drop_off=True, liaison__isnull=False).order_by(
        "key"
    )
    written = 0
    for standing in standings.iterator(chunk_size=500):
        if drop_off_key(referrer_key=standing.key, now=now) in written_keys:
            continue
        written += drop_off_task_write(standing=standing, now=now)
    return written


LOST_AFTER = dt.timedelta(minutes=2)  # a queued invitation's task has had time to run


def invitations_send(now: dt.datetime) -> int:
    """Send the invitations still queued a while after they were made (their task was lost);
    those a sender died holding (the lease ran out) are marked failed. Returns how many were
    sent or tried."""
    # A sender that held its claim past the lease may have sent it before dying (or may still be
    # waiting on a slow mail server): marked failed, never sent again, so nobody gets it twice
    # (as campaigns do; DESIGN.md: nothing is sent twice).
    stuck = Invitation.objects.filter(lease_until__lt=now, status=InvitationStatus.SENDING)
    stuck.update(
        status=InvitationStatus.FAILED,
        status_reason="Interrupted while sending; not sent again so nobody gets it twice.",
        lease_until=None,
    )
    # Each send claims its row itself (queued -> sending), so two schedulers send once.
    ids = list(
        Invitation.objects.filter(status=InvitationStatus.QUEUED, created_at__lt=now - LOST_AFTER)
        .order_by("id")
        .values_list("pk", flat=True)[:200]
    )
    for pk in ids:
        invitation_send(invitation_id=pk, now=now)
    return len(ids)


JOBS = [
    Job("outreach_drop_off_tasks", drop_off_tasks, every=dt.timedelta(hours=1)),
    Job("outreach_invitations_send", invitations_send, every=dt.timedelta(minutes=1)),
]
