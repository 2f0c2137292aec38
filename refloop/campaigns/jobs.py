"""Periodic work of campaigns (refloop_scheduler).

- campaigns_due: a scheduled campaign whose time has come is started (services.campaign_start:
  content and access checked again, recipients written, the send task queued on commit).
- campaigns_resume: a campaign still sending after a crash or a mail-server outage is queued
  again; recipients a dead worker had claimed are marked interrupted, never sent twice.
Both claim campaigns with a lease (core.scheduling.rows_claim), so schedulers can run side by side.
"""

from __future__ import annotations

import datetime as dt
import logging

from refloop.campaigns.enums import CampaignState
from refloop.campaigns.models import Campaign
from refloop.campaigns.sending import recipients_interrupted
from refloop.campaigns.services import campaign_send_queue, campaign_start
from refloop.core.errors import Conflict
from refloop.core.scheduling import Job, rows_claim

log = logging.getLogger(__name__)

# A sending campaign is queued again at most this often (its task may still be running).
RESUME_EVERY = dt.timedelta(minutes=5)


def campaigns_due(now: dt.datetime) -> int:
    due = Campaign.objects.filter(state=CampaignState.SCHEDULED, scheduled_at__lte=now)
    started = 0
    for campaign_id in rows_claim(due, now=now, limit=20):
        try:
            campaign_start(campaign_id=campaign_id, now=now)
        except Conflict:
            continue  # changed by someone meanwhile (cancelled, back to draft)
        started += 1
    return started


def campaigns_resume(now: dt.datetime) -> int:
    recipients_interrupted(now=now)
    sending = Campaign.objects.filter(state=CampaignState.SENDING)
    ids = rows_claim(sending, now=now, limit=20, lease=RESUME_EVERY)
    for campaign_id in ids:
        campaign_send_queue(campaign_id=campaign_id)
    return len(ids)


JOBS = [
    Job("campaigns_due", campaigns_due, every=dt.timedelta(seconds=30)),
    Job("campaigns_resume", campaigns_resume, every=dt.timedelta(minutes=1)),
]
