"""The CapabilityStatement: served without a credential, a valid R4 CapabilityStatement, and the
same table the views use (what it lists is what the server does, parameter by parameter)."""

import pytest
import requests

from refloop.interop.fhir.capability import RESULT_PARAMS, SUPPORTED
from refloop.interop.fhir.queries import FILTERS
from refloop.interop.fhir.registry import KINDS
from tests.fhir.conftest import client_referral, validate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def statement(live_server):
    answer = requests.get(f"{live_server.url}/fhir/R4/metadata", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    return answer.json()


def test_it_serves_a_valid_capability_statement_without_a_credential(statement, live_server):
    validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    (rest,) = statement["rest"]
    oauth = rest["security"]["extension"][0]
    assert oauth["extension"] == [
        {"url": "token", "valueUri": f"{live_server.url}/fhir/R4/auth/token"}
    ]
    assert [op["name"] for op in rest["operation"]] == ["process-message"]
    assert {i["code"] for i in rest["interaction"]} == {"transaction"}


def test_it_states_the_search_parameters_the_server_filters_on():
    for resource_type, support in SUPPORTED.items():
        assert set(FILTERS[resource_type]) == {p.name for p in support.search}, resource_type
        assert resource_type in KINDS


def test_it_answers_every_listed_search_parameter(statement, live_server, api_client):
    """Each parameter the statement lists is accepted by the server (200, not 400)."""
    client, key = api_client
    referral = client_referral(client)
    sample = {
        "token": "x",
        "reference": f"Patient/{referral.patient_id}",
        "date": "ge2020-01-01",
    }
    for resource in statement["rest"][0]["resource"]:
        codes = {i["code"] for i in resource["interaction"]}
        if "search-type" not in codes:
            continue
        for param in resource.get("searchParam", []):
            value = sample[param["type"]]
            if param["type"] == "reference" and param["name"] in ("focus", "based-on", "related"):
                value = f"ServiceRequest/{referral.pk}"
            if param["type"] == "reference" and param["name"] in ("requester",):
                value = f"Practitioner/{referral.referring_clinician_id}"
            if param["type"] == "reference" and param["name"] in ("performer", "practitioner"):
                value = "Practitioner/1"
            if param["type"] == "reference" and param["name"] == "organization":
                value = f"Organization/{client.organization_id}"
            if param["name"] == "status":
                value = {
                    "ServiceRequest": "active",
                    "Task": "requested",
                    "Appointment": "booked",
                }[resource["type"]]
            if param["name"] == "business-status":
                value = "2.0"
            answer = requests.get(
                f"{live_server.url}/fhir/R4/{resource['type']}",
                params={param["name"]: value},
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            assert answer.status_code == 200, (resource["type"], param["name"], answer.text)
            validate(answer.json())
    assert set(RESULT_PARAMS) >= {"_count", "_include"}


def test_it_refuses_a_type_it_does_not_list(live_server, api_client):
    answer = requests.get(
        f"{live_server.url}/fhir/R4/Observation",
        headers={"Authorization": f"Bearer {api_client[1]}"},
        timeout=10,
    )
    assert answer.status_code == 404
    assert "not supported" in answer.json()["issue"][0]["diagnostics"]
