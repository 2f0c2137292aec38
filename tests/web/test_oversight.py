"""The access log page for managers, and the program overview of aggregates."""

import datetime as dt
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refloop.core.models import AccessLogEntry
from tests import factories
from tests.web.helpers import sign_in


def test_it_lets_a_manager_search_the_access_log(client, referral, triage, scheduler, manager):
    sign_in(client, triage)
    client.get(reverse("referral_detail", args=[referral.pk]))
    sign_in(client, scheduler)
    client.get(reverse("referral_detail", args=[referral.pk]))
    sign_in(client, manager)

    by_user = client.get(reverse("access_log"), {"username": "triage"})
    by_patient = client.get(reverse("access_log"), {"patient": referral.patient_id})
    by_object = client.get(
        reverse("access_log"), {"object_type": "referral", "object_id": referral.pk}
    )
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    by_dates = client.get(reverse("access_log"), {"date_from": tomorrow.isoformat()})

    assert [e.username for e in by_user.context["page"]] == ["triage"]
    assert {e.username for e in by_patient.context["page"]} == {"triage", "scheduler"}
    assert by_object.context["page"].paginator.count == 2
    assert by_dates.context["page"].paginator.count == 0


def test_it_pages_the_access_log_with_the_same_queries(client, referral, triage, manager):
    sign_in(client, triage)
    client.get(reverse("referral_detail", args=[referral.pk]))
    sign_in(client, manager)
    client.get(reverse("access_log"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("access_log"), {"username": "triage"})
    sign_in(client, triage)
    for _ in range(60):
        client.get(reverse("referral_detail", args=[referral.pk]))
    sign_in(client, manager)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("access_log"), {"username": "triage"})

    assert len(response.context["page"].object_list) == 50
    assert len(many) == len(few)
    assert AccessLogEntry.objects.filter(username="triage").count() == 61


def test_it_counts_referrals_per_line_and_month_without_patients(client, line, liaison, intake):
    cardiology = factories.service_line(code="cardiology", name="Cardiology")
    for _ in range(3):
        factories.referral(line=line, actor=intake)
    factories.referral(line=cardiology, actor=intake, last_name="Zebulon")
    sign_in(client, liaison)

    response = client.get(reverse("program_overview"))

    rows = {row["line"].name: row["total"] for row in response.context["program"]["rows"]}
    assert rows == {"Cardiology": 1, "Orthopedics": 3}
    assert response.context["program"]["total"] == 4
    page = response.content.decode()
    assert "Zebulon" not in page and "Testpatient" not in page
    assert not re.search(r"R-\d{7}", page)
