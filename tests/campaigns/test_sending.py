"""Sending a campaign: through the scheduler and the task queue, each address once, suppressed
ones recorded, a crash resumed without duplicates, a real SMTP server."""

import datetime as dt
import email
from email import policy

import pytest
from django.core import mail
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.campaigns.enums import CampaignState, EventAction
from refloop.campaigns.jobs import campaigns_due, campaigns_resume
from refloop.campaigns.models import CampaignEvent, CampaignRecipient
from refloop.campaigns.sending import SEND_LEASE, campaign_send, recipients_interrupted
from refloop.campaigns.services import (
    campaign_cancel,
    campaign_schedule,
    campaign_start,
    suppression_add,
)
from tests.campaigns.conftest import draft, member
from tests.campaigns.smtp_server import LocalSmtp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def immediate_tasks(settings):
    """Tasks run at once, in the caller (the worker's part, without a worker process)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def campaign(liaison, target_list, content):
    for n in (1, 2, 3):
        member(target_list, n)
    campaign = draft(user=liaison, target_list=target_list, content=content)
    campaign_schedule(campaign=campaign, user=liaison)
    return campaign


def started(campaign):
    campaign_start(campaign_id=campaign.pk, now=timezone.now())
    campaign.refresh_from_db()
    return campaign


def states(campaign) -> dict[str, str]:
    return dict(CampaignRecipient.objects.filter(campaign=campaign).values_list("email", "state"))


def test_it_sends_a_due_campaign_through_the_scheduler_and_the_task_queue(
    campaign, liaison, immediate_tasks
):
    assert campaigns_due(timezone.now()) == 0  # an hour early
    assert campaigns_due(timezone.now() + dt.timedelta(hours=1, minutes=1)) == 1
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENT
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [f"dr{n}@maple{n}.example" for n in (1, 2, 3)]
        + [f"office{n}@maple{n}.example" for n in (1, 2, 3)]
    )
    finished = CampaignEvent.objects.get(campaign=campaign, action=EventAction.FINISHED)
    assert finished.details["sent"] == 6 and finished.details["suppressed"] == 0
    assert Alert.objects.filter(recipient=liaison, text__contains="sent: 6 sent").exists()
    message = next(m for m in mail.outbox if m.to == ["dr1@maple1.example"])
    assert message.subject == "New knee clinic hours"
    assert message.body.startswith("Advertisement from Riverside Specialty Care.\n\nDear Dr ")
    assert "at Maple Family Practice" in message.body  # {practice}
    token = CampaignRecipient.objects.get(email="dr1@maple1.example").token
    assert message.extra_headers["List-Unsubscribe"] == (
        f"<https://refloop.example.org/m/u/{token}/>"
    )
    # Run again (a second task, a second scheduler): nothing more goes out.
    assert campaign_send(campaign_id=campaign.pk) == 0
    assert campaigns_due(timezone.now() + dt.timedelta(hours=2)) == 0
    assert len(mail.outbox) == 6


def test_it_records_an_address_unsubscribed_after_the_start_as_suppressed(campaign):
    started(campaign)
    suppression_add(email="Office2@Maple2.example", source="test")
    campaign_send(campaign_id=campaign.pk)
    assert states(campaign)["office2@maple2.example"] == "suppressed"
    assert "office2@maple2.example" not in [m.to[0] for m in mail.outbox]
    assert len(mail.outbox) == 5


def test_it_resumes_after_a_crash_without_sending_anyone_twice(campaign, settings):
    started(campaign)
    settings.EMAIL_BACKEND = "tests.campaigns.test_sending.DiesOnThirdBackend"
    DiesOnThirdBackend.sent = 0
    with pytest.raises(WorkerKilled):
        campaign_send(campaign_id=campaign.pk)
    # Two went out; the third was claimed when the worker died.
    rows = CampaignRecipient.objects.filter(campaign=campaign).order_by("id")
    assert [r.state for r in rows][:3] == ["sent", "sent", "queued"]
    assert rows[2].claimed_at is not None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    campaign_send(campaign_id=campaign.pk)  # the next pass
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in rows[3:])
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENDING  # the interrupted one is not settled yet
    # After the lease, the interrupted one is marked, not sent again (it may have gone out).
    assert recipients_interrupted(now=timezone.now() + SEND_LEASE + dt.timedelta(seconds=1)) == 1
    rows[2].refresh_from_db()
    assert rows[2].state == "failed" and rows[2].error.startswith("Interrupted while sending")
    campaign_send(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENT
    assert len(mail.outbox) == 3


def test_it_stops_sending_when_cancelled(campaign, liaison):
    started(campaign)
    campaign_cancel(campaign=campaign, user=liaison, reason="Wrong list")
    assert campaign_send(campaign_id=campaign.pk) == 0
    assert mail.outbox == [] and set(states(campaign).values()) == {"queued"}


def test_it_queues_a_sending_campaign_again_for_the_next_worker(campaign, settings):
    started(campaign)  # queued in the database, but no worker ever ran it
    assert mail.outbox == []
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert campaigns_resume(timezone.now() + dt.timedelta(minutes=3)) == 1
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENT and len(mail.outbox) == 6


# A real SMTP server -----------------------------------------------------------------------------


@pytest.fixture
def smtp(settings):
    server = LocalSmtp().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


def test_it_sends_each_message_through_a_real_smtp_server(campaign, smtp):
    smtp.refuse = {"dr3@maple3.example"}
    started(campaign)
    assert campaign_send(campaign_id=campaign.pk) == 5
    assert len(smtp.received) == 5
    tokens = dict(CampaignRecipient.objects.values_list("email", "token"))
    for envelope in smtp.received:
        (to,) = envelope.rcpt_tos
        assert envelope.mail_from == "outreach@riverside.example"
        message = email.message_from_bytes(envelope.data, policy=policy.default)
        assert message["To"] == to
        assert message["From"] == "Riverside Specialty Care <outreach@riverside.example>"
        assert message["Subject"] == "New knee clinic hours"
        unsubscribe = f"https://refloop.example.org/m/u/{tokens[to]}/"
        assert message["List-Unsubscribe"] == f"<{unsubscribe}>"  # one line, not folded
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Message-ID"] == f"<refloop-campaign-{tokens[to]}@riverside.example>"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert text.startswith("Advertisement from Riverside Specialty Care.")
        assert "100 River Road, Springfield, ST 00000" in text and unsubscribe in text
        assert "<strong>Advertisement from Riverside Specialty Care.</strong>" in html
        assert "/m/o/" not in html  # tracking is off by default
    refused = CampaignRecipient.objects.get(email="dr3@maple3.example")
    assert (refused.state, refused.error) == (
        "failed",
        "The mail server refused the message (SMTP 550).",
    )
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENT


def test_it_waits_for_a_mail_server_that_is_down_and_then_sends_once(campaign, smtp, settings):
    started(campaign)
    port = smtp.port
    smtp.stop()
    assert campaign_send(campaign_id=campaign.pk) == 0
    assert set(states(campaign).values()) == {"queued"}
    assert not CampaignRecipient.objects.filter(claimed_at__isnull=False).exists()
    campaign.refresh_from_db()
    assert campaign.state_reason.startswith("The mail server could not be reached at")
    up = LocalSmtp(port=port).start()
    try:
        assert campaign_send(campaign_id=campaign.pk) == 6
        assert len(up.received) == 6
        campaign.refresh_from_db()
        assert (campaign.state, campaign.state_reason) == ("sent", "")
    finally:
        up.stop()


# Test doubles ---------------------------------------------------------------------------------


class WorkerKilled(BaseException):
    """The worker process dying (not an error the code could catch and handle)."""


class DiesOnThirdBackend:
    """An e-mail backend that accepts two messages, then the worker dies during the third."""

    sent = 0

    def __init__(self, *args, **kwargs):
        from django.core.mail.backends.locmem import EmailBackend

        self._real = EmailBackend(*args, **kwargs)

    def open(self):
        return True

    def close(self):
        return None

    def send_messages(self, messages):
        if DiesOnThirdBackend.sent == 2:
            raise WorkerKilled
        DiesOnThirdBackend.sent += len(messages)
        return self._real.send_messages(messages)
