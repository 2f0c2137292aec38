"""The placer revises or revokes its referral (PUT ServiceRequest/<id>), adds a document, or
creates a ServiceRequest on its own with what it references contained."""

import base64
import copy
import json

import pytest

from refloop.interop.fhir.models import FhirSubmission
from refloop.referrals.enums import CancelReason, DeclineReason, EventKind, State
from refloop.referrals.models import Referral
from refloop.referrals.services import referral_transition
from tests import factories
from tests.fhir import test_write_fixtures as fx
from tests.fhir.test_write_fixtures import FHIR_JSON, pdf_bytes, post, referral_bundle

writer, other_writer = fx.writer, fx.other_writer


@pytest.fixture
def placed(client, writer):
    """A referral placed by `writer` through a transaction, and the ServiceRequest it sent."""
    factories.service_line()
    bundle = referral_bundle(placer="U-1", priority="routine")
    response = post(client, "", writer[1], bundle)
    assert response.status_code == 200, response.content
    referral = Referral.objects.get()
    service_request = copy.deepcopy(bundle["entry"][0]["resource"])
    service_request["id"] = str(referral.pk)
    return referral, service_request


def put(client, key, referral, resource):
    return client.put(
        f"/fhir/R4/ServiceRequest/{referral.pk}",
        data=json.dumps(resource),
        content_type=FHIR_JSON,
        headers={"Authorization": f"Bearer {key}"},
    )


def test_it_cancels_the_referral_when_its_placer_revokes_it(client, writer, placed):
    referral, sr = placed
    sr["status"] = "revoked"
    sr["note"] = [{"text": "Patient moved away."}]
    response = put(client, writer[1], referral, sr)
    assert response.status_code == 200, response.content
    assert "cancelled" in response.json()["issue"][0]["diagnostics"]
    referral.refresh_from_db()
    assert referral.state == State.CANCELLED
    assert referral.outcome_reason == CancelReason.REFERRER_WITHDREW
    event = referral.events.get(to_state=State.CANCELLED)
    assert event.actor is None and event.note == "Patient moved away."
    again = put(client, writer[1], referral, sr)
    assert again.status_code == 200
    assert "already cancelled" in again.json()["issue"][0]["diagnostics"]
    kept = FhirSubmission.objects.filter(interaction="update")
    assert [k.outcome for k in kept.order_by("pk")] == ["accepted", "accepted"]


def test_it_revises_priority_reason_and_diagnoses(client, writer, placed):
    referral, sr = placed
    sr["priority"] = "stat"
    sr["reasonCode"] = [
        {
            "text": "Knee now locking",
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M23.91"}],
        }
    ]
    sr.pop("note")
    response = put(client, writer[1], referral, sr)
    assert response.status_code == 200, response.content
    referral.refresh_from_db()
    assert (referral.priority, referral.reason, referral.diagnoses) == (
        "stat",
        "Knee now locking",
        ["M23.91"],
    )
    revised = referral.events.get(kind=EventKind.REVISED)
    assert revised.details["changes"]["priority"] == {"from": "routine", "to": "stat"}
    assert (
        put(client, writer[1], referral, sr)
        .json()["issue"][0]["diagnostics"]
        .endswith("unchanged.")
    )


def test_it_adds_a_new_contained_document_once(client, writer, placed):
    referral, sr = placed
    letter = pdf_bytes("Imaging report")
    sr["contained"] = [
        {
            "resourceType": "DocumentReference",
            "id": "img",
            "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "18748-4"}]},
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "title": "MRI knee",
                        "data": base64.b64encode(letter).decode(),
                    }
                }
            ],
        }
    ]
    sr["supportingInfo"] = [{"reference": "#img"}]
    assert put(client, writer[1], referral, sr).status_code == 200
    assert put(client, writer[1], referral, sr).status_code == 200
    kinds = sorted(referral.documents.values_list("kind", flat=True))
    assert kinds == ["imaging", "notes"]


def test_it_hides_a_referral_from_a_client_that_did_not_place_it(client, other_writer, placed):
    referral, sr = placed
    sr["status"] = "revoked"
    response = put(client, other_writer[1], referral, sr)
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"
    referral.refresh_from_db()
    assert referral.state == State.RECEIVED
    assert FhirSubmission.objects.filter(interaction="update").get().outcome == "rejected"


def test_it_says_why_an_ended_referral_cannot_change(client, writer, placed):
    referral, sr = placed
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=None)
    referral_transition(
        referral_id=referral.pk,
        to_state=State.DECLINED,
        actor=None,
        reason=DeclineReason.OUTSIDE_SCOPE,
    )
    sr["priority"] = "urgent"
    response = put(client, writer[1], referral, sr)
    assert response.status_code == 409
    issue = response.json()["issue"][0]
    assert issue["code"] == "conflict"
    assert f"{referral.number} is declined; it can no longer be revised" in issue["diagnostics"]
    sr["status"] = "revoked"
    response = put(client, writer[1], referral, sr)
    assert response.status_code == 409
    assert "can no longer be revoked" in response.json()["issue"][0]["diagnostics"]


def test_it_refuses_a_body_for_another_id_and_a_status_the_placer_cannot_set(
    client, writer, placed
):
    referral, sr = placed
    response = put(client, writer[1], referral, {**sr, "id": "R-9999999"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["ServiceRequest.id"]
    response = put(client, writer[1], referral, {**sr, "status": "completed"})
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["ServiceRequest.status"]


def test_it_creates_a_service_request_with_its_patient_contained(client, writer):
    factories.service_line()
    sr = referral_bundle(placer="C-1")["entry"][0]["resource"]
    sr["contained"] = [
        {
            "resourceType": "Patient",
            "id": "p",
            "name": [{"family": "Contained", "given": ["Cora"]}],
            "birthDate": "1980-02-03",
        }
    ]
    sr["subject"] = {"reference": "#p"}
    for name in ("requester", "reasonReference", "insurance", "supportingInfo"):
        sr.pop(name)
    query = f"identifier={fx.PLACER_SYSTEM}|C-1"
    response = post(client, "ServiceRequest", writer[1], sr, **{"If-None-Exist": query})
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert response["Location"] == f"ServiceRequest/{referral.pk}/_history/1"
    assert response.json()["id"] == str(referral.pk)
    assert referral.patient.last_name == "Contained"
    again = post(client, "ServiceRequest", writer[1], sr, **{"If-None-Exist": query})
    assert again.status_code == 200 and again["Location"] == response["Location"]
    assert Referral.objects.count() == 1
