"""Periodic work of messaging (refloop_scheduler): send what is due.

Due: queued with `not_before` passed (deferred by the rules, retried after the provider was
unavailable, or never picked up by its on-commit task), and `sending` whose lease ran out (the
sender was killed). Rows are claimed with core.scheduling.rows_claim, then each is sent by
sending.message_send under the lease the claim set; a message raising an unexpected error stays
under its send lease and is taken again later, without stopping the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db.models import Q

from refloop.core.scheduling import DEFAULT_LEASE, Job, rows_claim
from refloop.messaging.enums import MessageStatus
from refloop.messaging.models import OutboundMessage
from refloop.messaging.sending import message_send

log = logging.getLogger(__name__)
BATCH = 100


def messages_send(now: dt.datetime) -> int:
    due = OutboundMessage.objects.filter(
        Q(status=MessageStatus.QUEUED, not_before__lte=now) | Q(status=MessageStatus.SENDING)
    ).order_by("not_before")
    handled, started = 0, time.monotonic()
    while True:
        ids = rows_claim(due, now=now, limit=BATCH, lease=DEFAULT_LEASE)
        if not ids:
            return handled
        for message_id in ids:
            try:
                # The pass's clock moved on by the time the pass has taken: quiet hours are
                # judged on when the text really goes.
                at = now + dt.timedelta(seconds=time.monotonic() - started)
                message_send(message_id=message_id, now=at, held_lease=now + DEFAULT_LEASE)
            except Exception:
                # Ids only in the log; the row keeps its lease and is retried after it.
                log.exception("sending message %s failed", message_id)
        handled += len(ids)


JOBS = [Job("messages_send", messages_send, every=dt.timedelta(seconds=15))]
