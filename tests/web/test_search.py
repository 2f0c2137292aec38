"""Search by POST: by patient name, date of birth, referral number or referrer."""

import datetime as dt
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refloop.core.models import AccessLogEntry
from tests import factories
from tests.web.helpers import sign_in


def _numbers(response) -> list[str]:
    return re.findall(r">(R-\d{7})</a>", response.content.decode())


def test_it_finds_a_patient_by_the_start_of_the_name(client, referral, intake):
    sign_in(client, intake)

    response = client.post(reverse("search"), {"last_name": "qui"})

    assert _numbers(response) == [referral.number]
    assert "Quill, Alex" in response.content.decode()


def test_it_finds_by_date_of_birth_number_and_referrer(client, referral, clinician, intake):
    other = factories.referral(line=referral.service_line, actor=intake, known_referrer=False)
    sign_in(client, intake)
    url = reverse("search")

    assert set(_numbers(client.post(url, {"birth_date": "1970-01-01"}))) == {
        referral.number,
        other.number,
    }
    assert _numbers(client.post(url, {"number": referral.number})) == [referral.number]
    assert _numbers(client.post(url, {"number": str(other.pk)})) == [other.number]
    assert _numbers(client.post(url, {"referrer": clinician.npi})) == [referral.number]
    assert _numbers(client.post(url, {"referrer": clinician.last_name[:6]})) == [referral.number]


def test_it_needs_every_criterion_to_match(client, referral, intake):
    sign_in(client, intake)

    response = client.post(
        reverse("search"), {"last_name": "Quill", "birth_date": dt.date(1980, 1, 1)}
    )

    assert _numbers(response) == []
    assert "Nothing matches" in response.content.decode()


def test_it_does_not_search_from_the_url(client, referral, intake):
    sign_in(client, intake)

    response = client.get(reverse("search"), {"last_name": "Quill"})

    assert _numbers(response) == []
    assert not AccessLogEntry.objects.filter(action="search").exists()


def test_it_says_what_is_wrong_with_an_empty_or_bad_search(client, intake):
    sign_in(client, intake)

    empty = client.post(reverse("search"), {})
    bad_number = client.post(reverse("search"), {"number": "ABC"})

    assert "Fill in at least one field" in empty.content.decode()
    assert "R-0000123" in bad_number.content.decode()


def test_it_logs_each_referral_a_search_showed(client, referral, triage):
    sign_in(client, triage)

    client.post(reverse("search"), {"last_name": "Quill"})

    entries = list(AccessLogEntry.objects.filter(action="search"))
    assert [(e.username, e.object_id, e.patient_id) for e in entries] == [
        ("triage", str(referral.pk), referral.patient_id)
    ]
    assert "Quill" not in entries[0].path


def test_it_runs_the_same_queries_for_1_result_and_50(client, line, intake):
    factories.referral(line=line, actor=intake, last_name="Samecount")
    sign_in(client, intake)
    criteria = {"last_name": "Samecount"}
    client.post(reverse("search"), criteria)
    with CaptureQueriesContext(connection) as one:
        assert len(_numbers(client.post(reverse("search"), criteria))) == 1
    for _ in range(49):
        factories.referral(
            line=line, clinician=factories.referrer(), actor=intake, last_name="Samecount"
        )
    with CaptureQueriesContext(connection) as fifty:
        assert len(_numbers(client.post(reverse("search"), criteria))) == 50

    assert len(fifty) == len(one)
