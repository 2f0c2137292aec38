"""Every search answers in the same number of queries for one row as for many, and leaves one
access-log entry per resource shown, under the client's id (never a person's name)."""

import pytest

from refloop.core.models import AccessLogEntry
from refloop.directory.models import Coverage
from refloop.loop.models import ReportSent
from tests import factories
from tests.fhir.conftest import client_referral, make_api_client

TYPES = (
    "ServiceRequest",
    "Task",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Coverage",
    "Appointment",
    "DocumentReference",
    "Communication",
)


def _referral_with_everything(api):
    referral = client_referral(api, documents=[factories.notes_pdf()])
    Coverage.objects.create(patient=referral.patient, payer="Acme", plan="Silver", member_id="M")
    factories.booked(referral, starts_at=factories.ago(days=-2))
    ReportSent.objects.create(
        referral=referral,
        document=referral.documents.first(),
        channel=ReportSent.Channel.EHR,
        sent_at=factories.ago(hours=1),
    )
    return referral


@pytest.mark.django_db
@pytest.mark.parametrize("resource_type", TYPES)
def test_it_searches_each_type_in_a_fixed_number_of_queries(
    resource_type, api_client, client, django_assert_max_num_queries
):
    api, key = api_client
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    url = f"/fhir/R4/{resource_type}?_count=100"
    _referral_with_everything(api)
    with django_assert_max_num_queries(12) as one:
        first = client.get(url, **auth)
    assert first.status_code == 200 and first.json()["total"] >= 1
    for _ in range(6):
        _referral_with_everything(api)

    with django_assert_max_num_queries(len(one.captured_queries)):
        many = client.get(url, **auth)

    if resource_type != "Organization":  # every referral here comes from the client's own
        assert many.json()["total"] > first.json()["total"]


@pytest.mark.django_db
def test_it_logs_each_resource_shown_under_the_clients_id(api_client, client):
    api, key = api_client
    referral = client_referral(api)

    client.get(
        "/fhir/R4/ServiceRequest?_include=ServiceRequest:patient",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    client.get(f"/fhir/R4/Patient/{referral.patient_id}", HTTP_AUTHORIZATION=f"Bearer {key}")

    entries = AccessLogEntry.objects.order_by("id")
    assert [(e.action, e.object_type, e.object_id) for e in entries] == [
        ("fhir_search", "ServiceRequest", str(referral.pk)),
        ("fhir_search", "Patient", str(referral.patient_id)),
        ("fhir_read", "Patient", str(referral.patient_id)),
    ]
    assert {(e.username, e.patient_id, e.user_id) for e in entries} == {
        (f"fhir:{api.client_id}", referral.patient_id, None)
    }


@pytest.mark.django_db
def test_it_includes_only_the_types_the_clients_scopes_may_read(client):
    """_include reads Patients too: a client whose scopes cover ServiceRequest alone gets the
    referrals and no patient (name, birth date, address) through the back door."""
    api, key = make_api_client(scopes="system/ServiceRequest.rs")
    referral = client_referral(api)
    response = client.get(
        "/fhir/R4/ServiceRequest?_include=ServiceRequest:patient&_include=ServiceRequest:requester",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200
    shown = [e["resource"]["resourceType"] for e in response.json()["entry"]]
    assert shown == ["ServiceRequest"]
    assert (
        client.get(
            f"/fhir/R4/Patient/{referral.patient_id}", HTTP_AUTHORIZATION=f"Bearer {key}"
        ).status_code
        == 403
    )
