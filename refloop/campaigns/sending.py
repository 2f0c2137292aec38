"""Sending a campaign that has started: each recipient once, through Django's e-mail backend.

1. Claim: just before the mail server is called, a conditional UPDATE sets the recipient's
   `claimed_at` (only if it is still queued and unclaimed). Two workers racing for one recipient:
   one UPDATE matches, the other matches nothing and moves on. So no address is sent twice.
2. Suppressed since the list was made: marked suppressed, with the reason, never sent.
3. Send through the backend (one connection per pass); record sent, or failed with the reason.
   The mail server unreachable: the claim is given back and the pass stops; the scheduler
   queues the campaign again later (a recipient gives up after MAX_ATTEMPTS).
4. A crash between the claim and the record leaves the recipient queued and claimed; after
   SEND_LEASE the scheduler marks it failed ("interrupted") instead of sending it again, because
   it may already have gone out: at most one message per address, and the gap is shown, not
   hidden. Everyone not yet claimed is sent by the next pass, so a crash midway resumes without
   duplicates.
5. Before each message the campaign must still be sending (a cancel stops it); when nobody is
   left queued the campaign becomes sent (services.campaign_finish).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

from django.core.mail import get_connection
from django.db.models import F
from django.utils import timezone

from refloop.campaigns.compose import Personal, campaign_compose, campaign_email, personal_of
from refloop.campaigns.enums import CampaignState, RecipientState
from refloop.campaigns.models import Campaign, CampaignRecipient
from refloop.campaigns.queries import address_suppressed
from refloop.campaigns.services import campaign_finish

log = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 3
# Longer than one SMTP conversation can take (Django's SMTP backend has no timeout by default;
# settings.EMAIL_TIMEOUT should be set in production).
SEND_LEASE = dt.timedelta(minutes=10)


class MailServerDown(Exception):
    pass


def campaign_send(*, campaign_id: int, now: dt.datetime | None = None) -> int:
    """Send what is left of the campaign; returns how many messages this call sent."""
    sent = 0
    campaign = Campaign.objects.select_related("content_version").get(pk=campaign_id)
    if campaign.state != CampaignState.SENDING:
        return 0
    connection = get_connection()
    try:
        try:
            connection.open()
        except (smtplib.SMTPException, OSError) as error:
            raise MailServerDown from error
        while True:
            ids = list(
                CampaignRecipient.objects.filter(
                    campaign_id=campaign_id,
                    state=RecipientState.QUEUED,
                    claimed_at__isnull=True,
                )
                .order_by("id")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                break
            for recipient_id in ids:
                if not _still_sending(campaign_id):
                    return sent
                sent += _recipient_send(recipient_id, campaign, connection, now)
    except MailServerDown:
        log.info("campaign %s: mail server unavailable, will resume", campaign_id)
        at = timezone.localtime(now or timezone.now())
        Campaign.objects.filter(pk=campaign_id, state=CampaignState.SENDING).update(
            state_reason=f"The mail server could not be reached at {at:%H:%M}; trying again."
        )
        return sent
    finally:
        connection.close()
    campaign_finish(campaign_id=campaign_id, now=now or timezone.now())
    return sent


def _still_sending(campaign_id: int) -> bool:
    return Campaign.objects.filter(pk=campaign_id, state=CampaignState.SENDING).exists()


def _recipient_send(recipient_id: int, campaign: Campaign, connection, now) -> int:
    claimed_at = now or timezone.now()
    claimed = CampaignRecipient.objects.filter(
        pk=recipient_id, state=RecipientState.QUEUED, claimed_at__isnull=True
    ).update(claimed_at=claimed_at, attempts=F("attempts") + 1)
    if not claimed:
        return 0  # another worker has it
    recipient = CampaignRecipient.objects.select_related("clinician", "organization").get(
        pk=recipient_id
    )
    if address_suppressed(email=recipient.email):
        _record(recipient, RecipientState.SUPPRESSED, error="Unsubscribed: not sent.")
        return 0
    composed = campaign_compose(
        campaign=campaign,
        version=campaign.content_version,
        token=recipient.token,
        personal=recipient_personal(recipient),
    )
    message = campaign_email(composed=composed, to=recipient.email, connection=connection)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused:
        _record(recipient, RecipientState.FAILED, error="The mail server refused the address.")
        return 0
    except smtplib.SMTPDataError as error:
        if error.smtp_code < 500:
            _give_back(recipient, f"SMTP {error.smtp_code}")
            raise MailServerDown from error
        reason = f"The mail server refused the message (SMTP {error.smtp_code})."
        _record(recipient, RecipientState.FAILED, error=reason)
        return 0
    except (smtplib.SMTPException, OSError) as error:
        _give_back(recipient, type(error).__name__)
        raise MailServerDown from error
    _record(recipient, RecipientState.SENT, sent_at=now or timezone.now())
    return 1


def recipient_personal(recipient: CampaignRecipient) -> Personal:
    practice = recipient.organization.name if recipient.organization_id else ""
    return personal_of(name=recipient.name, clinician=recipient.clinician, practice=practice)


def _record(recipient: CampaignRecipient, state: str, *, error: str = "", **times) -> None:
    CampaignRecipient.objects.filter(pk=recipient.pk, state=RecipientState.QUEUED).update(
        state=state, error=error[:300], **times
    )


def _give_back(recipient: CampaignRecipient, what: str) -> None:
    if recipient.attempts >= MAX_ATTEMPTS:
        _record(
            recipient,
            RecipientState.FAILED,
            error=f"The mail server could not be reached ({what}), {MAX_ATTEMPTS} times.",
        )
        return
    CampaignRecipient.objects.filter(pk=recipient.pk, state=RecipientState.QUEUED).update(
        claimed_at=None, error=f"The mail server could not be reached ({what}); will retry."
    )


def recipients_interrupted(*, now: dt.datetime) -> int:
    """Recipients claimed by a worker that died before recording the outcome: failed, not sent
    again (the message may have gone out). Returns how many."""
    return CampaignRecipient.objects.filter(
        state=RecipientState.QUEUED,
        claimed_at__lt=now - SEND_LEASE,
        campaign__state=CampaignState.SENDING,
    ).update(
        state=RecipientState.FAILED,
        error="Interrupted while sending; not sent again so nobody gets it twice.",
    )
