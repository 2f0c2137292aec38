"""Alerts in the staff app: the badge, the list per person, marking read, and the e-mail."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refloop.alerts.jobs import alerts_email
from refloop.alerts.models import Alert
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.models import OutboundMessage
from tests.web.helpers import sign_in


def _raise(person, referral=None, n=1, kind="clock_breached", at=None):
    alerts_raise(
        specs=[
            AlertSpec(
                key=f"test:{person.pk}:{kind}:{i}:{at}",
                recipient_ids=(person.pk,),
                kind=kind,
                referral_id=referral.pk if referral else None,
                text=f"{referral.number if referral else 'Outreach'}: {kind} alert {i}",
            )
            for i in range(n)
        ],
        now=at,
    )


def test_it_shows_the_unread_count_in_the_top_bar(client, scheduler, referral):
    _raise(scheduler, referral, n=3)
    sign_in(client, scheduler)

    html = client.get(reverse("worklist")).content.decode()

    assert 'aria-label="3 unread">3</span>' in html


def test_it_lists_only_the_persons_own_alerts_newest_first(client, scheduler, intake, referral):
    _raise(scheduler, referral, kind="older", at=timezone.now() - dt.timedelta(hours=2))
    _raise(scheduler, referral, kind="newer", at=timezone.now())
    alerts_raise(
        specs=[AlertSpec(key="x", recipient_ids=(intake.pk,), kind="k", text="For intake only")]
    )
    sign_in(client, scheduler)

    html = client.get(reverse("alerts")).content.decode()

    assert "For intake only" not in html
    assert html.count(f'href="/referrals/{referral.pk}/"') == 2
    assert html.index("newer alert") < html.index("older alert")


def test_it_shows_a_liaison_their_alerts_without_referral_links_or_patients(
    client, liaison, referral
):
    _raise(liaison, referral)
    sign_in(client, liaison)

    response = client.get(reverse("alerts"))

    html = response.content.decode()
    assert response.status_code == 200
    assert referral.number in html
    assert f"/referrals/{referral.pk}/" not in html
    assert "Quill" not in html


def test_it_marks_one_and_then_all_read(client, scheduler, intake, referral):
    _raise(scheduler, referral, n=3)
    _raise(intake, referral)
    sign_in(client, scheduler)
    first = Alert.objects.filter(recipient=scheduler).first()
    theirs = Alert.objects.get(recipient=intake)

    client.post(reverse("alerts_read"), {"alert": first.pk})
    client.post(reverse("alerts_read"), {"alert": theirs.pk})
    html = client.get(reverse("alerts")).content.decode()
    assert 'aria-label="2 unread"' in html
    response = client.post(reverse("alerts_read"), {"all": "1"}, follow=True)

    assert "2 alerts marked read." in response.content.decode()
    assert not Alert.objects.filter(recipient=scheduler, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_refuses_marking_without_an_alert(client, scheduler):
    sign_in(client, scheduler)

    response = client.post(reverse("alerts_read"), {"alert": "abc"})

    assert response.status_code == 400
    assert "Choose the alert to mark read." in response.content.decode()


def test_it_reads_the_alerts_page_in_the_same_queries_for_1_and_50(client, scheduler, referral):
    sign_in(client, scheduler)
    _raise(scheduler, referral, n=1, kind="one")
    client.get(reverse("alerts"))  # warm the session and the like
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("alerts"))
    _raise(scheduler, referral, n=49, kind="many")
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(reverse("alerts"))

    assert response.content.decode().count("Mark read</button>") == 50
    assert len(one) == len(fifty)


def test_it_pages_the_alerts(client, scheduler, referral):
    _raise(scheduler, referral, n=51)
    sign_in(client, scheduler)

    second = client.get(reverse("alerts"), {"page": 2}).content.decode()

    assert "page 2 of 2 · 51 alerts" in second
    assert second.count("Mark read</button>") == 1


def test_it_emails_new_alerts_once_without_phi(settings, scheduler, referral):
    settings.REFLOOP_ALERT_EMAIL = True
    scheduler.email = "sam@example.org"
    scheduler.save()
    _raise(scheduler, referral, n=2)

    assert alerts_email(timezone.now()) == 1
    assert alerts_email(timezone.now()) == 0

    message = OutboundMessage.objects.get()
    assert (message.audience, message.purpose, message.channel) == (
        Audience.STAFF,
        Purpose.ALERT,
        MessageChannel.EMAIL,
    )
    assert message.to_address == "sam@example.org"
    assert message.subject == "Refloop: 2 new alerts"
    assert referral.number in message.body
    assert "Quill" not in message.body and "Quill" not in message.subject
    assert "Knee" not in message.body
    assert not Alert.objects.filter(emailed_at__isnull=True).exists()


def test_it_sends_no_alert_email_unless_configured(scheduler, referral):
    scheduler.email = "sam@example.org"
    scheduler.save()
    _raise(scheduler, referral)

    assert alerts_email(timezone.now()) == 0
    assert not OutboundMessage.objects.exists()
