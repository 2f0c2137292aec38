"""The referrer loop on the referral page: records asked for, the report written and sent, its
delivery and acknowledgement recorded, follow-ups ticked; by role."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refloop.loop.models import ConsultReport, FollowUpItem, RecordsRequest, ReportSent
from refloop.messaging.enums import Purpose
from refloop.referrals.enums import State
from tests import factories
from tests.factories import ago
from tests.loop.conftest import to_completed, to_referrer
from tests.web.helpers import sign_in


def _page(client, referral):
    return client.get(reverse("referral_detail", args=[referral.pk]))


def act(client, referral, action, **fields):
    html = _page(client, referral).content.decode()
    found = re.search(rf'name="{action}-version" value="(\d+)"', html)
    assert found, f"{action} is not offered on the page"
    data = {f"{action}-version": found.group(1)}
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return client.post(reverse("referral_act", args=[referral.pk, action]), data)


@pytest.fixture
def seen(referral, manager):
    return to_completed(referral, manager)


def test_it_asks_for_the_missing_records_from_the_page(client, line, fax_referrer, intake):
    referral = factories.referral(
        line=line, clinician=fax_referrer, actor=intake, complete=False, received_at=ago(hours=1)
    )
    sign_in(client, intake)

    response = act(client, referral, "records_request")

    assert response.status_code == 302
    assert len(to_referrer(purpose=Purpose.RECORDS_REQUEST)) == 1
    page = client.get(response["Location"]).content.decode()
    assert "Missing records asked of the referrer." in page
    assert "Clinical notes · asked 1 time" in page
    assert RecordsRequest.objects.get().referral == referral


def test_it_writes_and_sends_the_report_as_the_care_team(client, seen, care_team):
    sign_in(client, care_team)
    page = _page(client, seen).content.decode()
    assert "Write the report" in page and "Send the report" not in page

    url = reverse("report_write", args=[seen.pk])
    assert client.get(url).status_code == 200
    saved = client.post(url, {"findings": "Mild effusion.", "next_steps": "Physio for 6 weeks."})
    assert saved.status_code == 302
    page = _page(client, seen).content.decode()
    assert "Edit the report" in page and "Mild effusion." in page

    sent = act(client, seen, "report_send_written")

    assert sent.status_code == 302
    seen.refresh_from_db()
    assert seen.state == State.CLOSED
    page = client.get(sent["Location"]).content.decode()
    assert "Report sent to the referrer; the referral is closed." in page
    assert "not confirmed" in page and "Record delivery confirmed" in page
    assert ConsultReport.objects.get().status == "final"


def test_it_records_delivery_and_acknowledgement_from_the_page(client, seen, care_team):
    sign_in(client, care_team)
    client.post(reverse("report_write", args=[seen.pk]), {"findings": "Mild effusion."})
    act(client, seen, "report_send_written")
    report = ReportSent.objects.get()

    delivered = act(client, seen, "report_delivered", report_sent=report.pk)
    acknowledged = act(client, seen, "report_acknowledged", report_sent=report.pk)

    assert delivered.status_code == acknowledged.status_code == 302
    report.refresh_from_db()
    assert report.delivered_at and report.acknowledged_at
    page = _page(client, seen).content.decode()
    assert "Record delivery confirmed" not in page and "Record acknowledged" not in page


def test_it_ticks_a_follow_up_from_the_page(client, seen, care_team):
    item = FollowUpItem.objects.create(
        referral=seen, name="Imaging reviewed", due_at=timezone.now() + dt.timedelta(days=3)
    )
    sign_in(client, care_team)

    response = act(client, seen, "followup", item=item.pk, done="1")

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.done_at is not None and item.done_by == care_team


def test_it_shows_the_loop_to_a_manager(client, seen, manager):
    FollowUpItem.objects.create(referral=seen, name="Imaging reviewed", due_at=ago(days=1))
    sign_in(client, manager)

    page = _page(client, seen).content.decode()

    assert "Referrer loop" in page and "Imaging reviewed" in page and "overdue" in page


def test_it_keeps_the_loop_section_to_a_fixed_number_of_queries(client, seen, care_team):
    sign_in(client, care_team)
    FollowUpItem.objects.create(referral=seen, name="Item 0", due_at=ago(days=1))
    with CaptureQueriesContext(connection) as one:
        _page(client, seen)
    for n in range(1, 20):
        FollowUpItem.objects.create(referral=seen, name=f"Item {n}", due_at=ago(days=1))
    with CaptureQueriesContext(connection) as twenty:
        _page(client, seen)

    assert len(twenty) == len(one)


def test_it_refuses_the_liaison(client, seen, liaison):
    sign_in(client, liaison)

    assert _page(client, seen).status_code == 403
    assert client.get(reverse("report_write", args=[seen.pk])).status_code == 403
    posted = client.post(
        reverse("referral_act", args=[seen.pk, "records_request"]),
        {"records_request-version": seen.version},
    )
    assert posted.status_code == 403


def test_it_does_not_let_intake_write_the_report(client, seen, intake):
    sign_in(client, intake)

    assert client.get(reverse("report_write", args=[seen.pk])).status_code == 403
    assert "Write the report" not in _page(client, seen).content.decode()
