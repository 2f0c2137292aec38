"""Reads and searches with a real FHIR client (fhirpy) against the running server."""

import datetime as dt

import pytest
import requests
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from refloop.access.models import Appointment
from refloop.directory.models import Coverage
from refloop.referrals.enums import State
from refloop.referrals.models import Referral
from refloop.referrals.services import referral_transition
from tests import factories
from tests.fhir.conftest import client_referral, validate

pytestmark = pytest.mark.django_db(transaction=True)

BSER = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"


def raw(fhir, path, **params):
    return fhir.execute(path, method="get", params=params)


def test_it_reads_the_referral_as_a_service_request(fhir, api_client):
    client, _ = api_client
    referral = client_referral(client, reference="SR-77", priority="urgent")
    Coverage.objects.create(
        patient=referral.patient, payer="Acme Health", plan="Gold", member_id="M1"
    )

    resource = fhir.reference("ServiceRequest", str(referral.pk)).to_resource().serialize()

    validate(resource)
    assert resource["status"] == "active"
    assert resource["intent"] == "order"
    assert resource["priority"] == "urgent"
    assert resource["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "3457005",
        "display": "Patient referral",
    }
    plac, fill = resource["identifier"]
    assert (plac["system"], plac["value"], plac["type"]["coding"][0]["code"]) == (
        client.client_id,
        "SR-77",
        "PLAC",
    )
    assert (fill["value"], fill["type"]["coding"][0]["code"]) == (referral.number, "FILL")
    assert resource["subject"] == {"reference": f"Patient/{referral.patient_id}"}
    assert resource["requester"]["reference"].startswith("PractitionerRole/")
    assert resource["reasonCode"][0]["coding"][0]["code"] == "M17.11"
    assert resource["insurance"] == [{"reference": f"Coverage/{Coverage.objects.get().pk}"}]
    assert resource["meta"]["lastUpdated"]


def test_it_reads_the_task_with_the_bser_business_status(fhir, api_client):
    client, _ = api_client
    referral = client_referral(client)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=None)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=None)

    task = raw(fhir, f"Task/{referral.pk}")

    validate(task)
    assert task["status"] == "accepted"
    assert task["businessStatus"]["coding"][0] == {
        "system": BSER,
        "code": "3.0",
        "display": "Service Request Accepted",
    }
    assert task["focus"] == {"reference": f"ServiceRequest/{referral.pk}"}
    assert task["for"] == {"reference": f"Patient/{referral.patient_id}"}
    assert task["lastModified"]


def test_it_gives_a_declined_task_its_reason(fhir, api_client):
    client, _ = api_client
    referral = client_referral(client)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=None)
    referral_transition(
        referral_id=referral.pk, to_state=State.DECLINED, actor=None, reason="not_indicated"
    )

    task = raw(fhir, f"Task/{referral.pk}")

    validate(task)
    assert task["status"] == "rejected"
    assert task["businessStatus"]["coding"][0]["code"] == "4.0"
    assert task["statusReason"]["text"] == "Not clinically indicated"
    # The placer's request is unchanged by our decision.
    assert raw(fhir, f"ServiceRequest/{referral.pk}")["status"] == "active"


def test_it_reads_every_resource_a_referral_references(fhir, api_client):
    client, _ = api_client
    referral = client_referral(client, documents=[factories.notes_pdf()])
    Coverage.objects.create(patient=referral.patient, payer="Acme", plan="", member_id="M2")
    factories.booked(referral, starts_at=factories.ago(days=-3))
    service_request = raw(fhir, f"ServiceRequest/{referral.pk}")

    for reference in (
        service_request["subject"]["reference"],
        service_request["requester"]["reference"],
        service_request["insurance"][0]["reference"],
    ):
        validate(raw(fhir, reference))
    role = raw(fhir, service_request["requester"]["reference"])
    validate(raw(fhir, role["practitioner"]["reference"]))
    validate(raw(fhir, role["organization"]["reference"]))
    appointment = raw(fhir, f"Appointment/{Appointment.objects.get().pk}")
    validate(appointment)
    assert appointment["status"] == "booked"
    assert appointment["basedOn"] == [{"reference": f"ServiceRequest/{referral.pk}"}]
    document = raw(fhir, "DocumentReference", related=f"ServiceRequest/{referral.pk}")
    kinds = {e["resource"]["type"]["text"] for e in document["entry"]}
    assert "Clinical notes" in kinds
    for entry in document["entry"]:
        validate(entry["resource"])


def test_it_answers_404_for_an_unknown_id(fhir, api_client):
    with pytest.raises(ResourceNotFound):
        fhir.reference("ServiceRequest", "999999").to_resource()


def _ids(bundle):
    return [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"]


def test_it_searches_service_requests_by_each_parameter(fhir, api_client):
    client, _ = api_client
    first = client_referral(client, reference="A-1", received_at=factories.ago(days=10))
    second = client_referral(client, reference="A-2", received_at=factories.ago(days=1))
    Referral.objects.filter(pk=second.pk).update(receiving_clinician=factories.own_clinician())
    second.refresh_from_db()
    sr = fhir.resources("ServiceRequest")

    def found(**params):
        return sorted(int(r.id) for r in sr.search(**params).fetch_all())

    assert found(_id=str(first.pk)) == [first.pk]
    assert found(identifier=f"{client.client_id}|A-2") == [second.pk]
    assert found(identifier="A-1") == [first.pk]
    assert found(identifier=f"urn:refloop:referral-number|{second.number}") == [second.pk]
    assert found(identifier="other-system|A-1") == []
    assert found(patient=f"Patient/{first.patient_id}") == [first.pk]
    assert found(subject=str(second.patient_id)) == [second.pk]
    assert found(status="active") == [first.pk, second.pk]
    assert found(status="completed,revoked") == []
    assert found(requester=f"Practitioner/{first.referring_clinician_id}") == [first.pk]
    assert found(requester=f"Organization/{client.organization_id}") == [first.pk, second.pk]
    role = raw(fhir, f"ServiceRequest/{first.pk}")["requester"]["reference"]
    assert found(requester=role) == [first.pk]
    assert found(performer=f"Practitioner/{second.receiving_clinician_id}") == [second.pk]
    five_days_ago = (dt.date.today() - dt.timedelta(days=5)).isoformat()
    assert found(authored=f"ge{five_days_ago}") == [second.pk]
    assert found(authored=f"lt{five_days_ago}") == [first.pk]
    assert found(authored=f"gt{five_days_ago}", _lastUpdated=f"ge{five_days_ago}") == [second.pk]
    assert found(_lastUpdated="lt2000-01-01") == []


def test_it_searches_tasks_by_status_and_business_status(fhir, api_client):
    client, _ = api_client
    waiting = client_referral(client)
    accepted = client_referral(client)
    for state in (State.TRIAGE, State.ACCEPTED):
        referral_transition(referral_id=accepted.pk, to_state=state, actor=None)

    assert _ids(raw(fhir, "Task", status="requested")) == [str(waiting.pk)]
    assert _ids(raw(fhir, "Task", **{"business-status": f"{BSER}|3.0"})) == [str(accepted.pk)]
    assert _ids(raw(fhir, "Task", focus=f"ServiceRequest/{waiting.pk}")) == [str(waiting.pk)]
    assert _ids(raw(fhir, "Task", patient=f"Patient/{accepted.patient_id}")) == [str(accepted.pk)]


def test_it_pages_with_links(fhir, api_client):
    client, key = api_client
    made = sorted(client_referral(client).pk for _ in range(5))

    first = raw(fhir, "ServiceRequest", _count=2)
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert first["total"] == 5
    assert _ids(first) == [str(pk) for pk in made[:2]]
    assert "previous" not in links
    validate(first)

    seen = [int(i) for i in _ids(first)]
    page = first
    while "next" in {link["relation"] for link in page["link"]}:
        url = next(link["url"] for link in page["link"] if link["relation"] == "next")
        page = requests.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
        seen += [int(i) for i in _ids(page)]
    assert seen == made
    assert "previous" in {link["relation"] for link in page["link"]}
    # fhirpy follows the same links.
    assert sorted(int(r.id) for r in fhir.resources("ServiceRequest").limit(2).fetch_all()) == made


def test_it_includes_patients_and_requesters(fhir, api_client):
    client, _ = api_client
    referrals = [client_referral(client) for _ in range(2)]

    bundle = raw(
        fhir, "ServiceRequest", _include=["ServiceRequest:patient", "ServiceRequest:requester"]
    )

    validate(bundle)
    included = {
        e["resource"]["resourceType"] + "/" + e["resource"]["id"]
        for e in bundle["entry"]
        if e["search"]["mode"] == "include"
    }
    assert {f"Patient/{r.patient_id}" for r in referrals} <= included
    assert len([i for i in included if i.startswith("PractitionerRole/")]) == 2
    for entry in bundle["entry"]:
        validate(entry["resource"])


def test_it_refuses_an_unknown_parameter_by_name(fhir, api_client):
    with pytest.raises(OperationOutcome) as error:
        raw(fhir, "ServiceRequest", colour="blue")
    assert "colour" in str(error.value)


def test_it_ignores_an_unknown_parameter_when_asked_to_be_lenient(live_server, api_client):
    _, key = api_client
    response = requests.get(
        f"{live_server.url}/fhir/R4/ServiceRequest?colour=blue",
        headers={"Authorization": f"Bearer {key}", "Prefer": "handling=lenient"},
        timeout=10,
    )
    assert response.status_code == 200
    assert "colour" not in response.json()["link"][0]["url"]


def test_it_refuses_a_bad_date_naming_it(fhir, api_client):
    with pytest.raises(OperationOutcome) as error:
        raw(fhir, "ServiceRequest", authored="yesterday")
    assert "authored" in str(error.value)


def test_it_searches_in_a_fixed_number_of_queries(
    api_client, client, django_assert_max_num_queries
):
    api, key = api_client
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client_referral(api)
    url = (
        "/fhir/R4/ServiceRequest?_count=50"
        "&_include=ServiceRequest:patient&_include=ServiceRequest:requester"
    )
    with django_assert_max_num_queries(14) as one:
        assert client.get(url, **auth).status_code == 200
    for _ in range(20):
        client_referral(api)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url, **auth)
    assert len(response.json()["entry"]) == 21 * 3


def test_it_answers_in_xml_when_asked(live_server, api_client):
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.servicerequest import ServiceRequest

    client, key = api_client
    referral = client_referral(client)
    auth = {"Authorization": f"Bearer {key}"}

    one = requests.get(
        f"{live_server.url}/fhir/R4/ServiceRequest/{referral.pk}",
        headers={**auth, "Accept": "application/fhir+xml"},
        timeout=10,
    )
    page = requests.get(
        f"{live_server.url}/fhir/R4/ServiceRequest?_format=xml", headers=auth, timeout=10
    )

    assert one.headers["Content-Type"].startswith("application/fhir+xml")
    assert ServiceRequest.model_validate_xml(one.content).id == str(referral.pk)
    assert Bundle.model_validate_xml(page.content).total == 1


def test_it_shows_a_withdrawn_referral_as_revoked_and_its_task_cancelled(fhir, api_client):
    from refloop.access.services import referral_cancel
    from refloop.referrals.enums import CancelReason

    client, _ = api_client
    withdrawn = client_referral(client)
    unreachable = client_referral(client)
    referral_cancel(referral_id=withdrawn.pk, reason=CancelReason.REFERRER_WITHDREW, actor=None)
    referral_cancel(referral_id=unreachable.pk, reason=CancelReason.UNABLE_TO_REACH, actor=None)

    assert _ids(raw(fhir, "ServiceRequest", status="revoked")) == [str(withdrawn.pk)]
    assert _ids(raw(fhir, "ServiceRequest", status="active")) == [str(unreachable.pk)]
    task = raw(fhir, f"Task/{unreachable.pk}")
    validate(task)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("cancelled", "6.0")
    assert task["statusReason"]["text"] == "Unable to reach the patient"
