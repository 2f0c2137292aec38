"""Each client sees its own organization's referrals and what they reference, nothing else; its
scopes say which resource types it may read and search; the report comes back to a FHIR sender
through the API (it pulls the Communication, the DocumentReference and the PDF)."""

import base64

import pytest
import requests
from fhirpy.base.exceptions import ResourceNotFound

from refloop.interop.fhir.routes import fhir_route
from refloop.loop.services import consult_report_save, consult_report_send
from refloop.messaging.enums import MessageChannel
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import State
from tests import factories
from tests.fhir.conftest import client_referral, make_api_client, validate
from tests.loop.conftest import to_completed

pytestmark = pytest.mark.django_db(transaction=True)


def get(live_server, key, path, **params):
    return requests.get(
        f"{live_server.url}/fhir/R4/{path}",
        params=params,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def test_it_hides_another_organizations_referral_and_everything_it_references(
    live_server, fhir, api_client, other_api_client
):
    mine = client_referral(api_client[0])
    theirs = client_referral(other_api_client[0], documents=[factories.notes_pdf()])
    document = theirs.documents.get()

    with pytest.raises(ResourceNotFound):
        fhir.reference("ServiceRequest", str(theirs.pk)).to_resource()
    for path in (
        f"Task/{theirs.pk}",
        f"Patient/{theirs.patient_id}",
        f"Practitioner/{theirs.referring_clinician_id}",
        f"Organization/{theirs.referring_organization_id}",
        f"DocumentReference/{document.pk}",
        f"Binary/{document.pk}",
    ):
        answer = get(live_server, api_client[1], path)
        assert answer.status_code == 404, path
        assert answer.json()["issue"][0]["code"] == "not-found"
    found = fhir.resources("ServiceRequest").include("ServiceRequest", "patient").fetch_raw()
    ids = {(e.resource.resourceType, e.resource.id) for e in found.entry}
    assert ids == {("ServiceRequest", str(mine.pk)), ("Patient", str(mine.patient_id))}
    searched = get(live_server, api_client[1], "Patient", _id=str(theirs.patient_id)).json()
    assert searched["total"] == 0


def test_it_shows_the_organizations_referrals_whatever_channel_they_came_by(fhir, api_client):
    client, _ = api_client
    line = factories.service_line()
    faxed = factories.referral(line=line)
    faxed.referring_organization = client.organization
    faxed.save()

    found = fhir.resources("ServiceRequest").search(_id=str(faxed.pk)).fetch()

    assert [r.id for r in found] == [str(faxed.pk)]


@pytest.mark.parametrize(
    "scopes, path, status",
    [
        ("system/Task.rs", "ServiceRequest/{pk}", 403),
        ("system/Task.rs", "Task/{pk}", 200),
        ("system/ServiceRequest.r", "ServiceRequest/{pk}", 200),
        ("system/ServiceRequest.r", "ServiceRequest", 403),
        ("system/ServiceRequest.s", "ServiceRequest", 200),
        ("system/*.read", "Patient/{patient}", 200),
        ("system/*.read", "ServiceRequest", 200),
        ("system/*.write", "ServiceRequest/{pk}", 403),
        ("patient/*.read", "ServiceRequest/{pk}", 403),
    ],
)
def test_it_enforces_scopes_per_type_and_interaction(live_server, scopes, path, status):
    client, key = make_api_client(scopes=scopes)
    referral = client_referral(client)

    answer = get(live_server, key, path.format(pk=referral.pk, patient=referral.patient_id))

    assert answer.status_code == status, answer.text
    if status == 403:
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert answer.json()["issue"][0]["code"] == "forbidden"


def test_it_refuses_a_request_without_a_known_credential(live_server):
    for header in ({}, {"Authorization": "Bearer not-a-key"}):
        answer = requests.get(
            f"{live_server.url}/fhir/R4/ServiceRequest", headers=header, timeout=10
        )
        assert answer.status_code == 401
        assert answer.json()["issue"][0]["code"] == "login"


def test_it_sends_the_report_back_to_the_fhir_client_to_pull(
    live_server, fhir, api_client, manager, care_team
):
    client, key = api_client
    referral = client_referral(client)
    assert fhir_route(referral).to_address == client.client_id
    to_completed(referral, manager)
    consult_report_save(
        referral_id=referral.pk, texts={"findings": "Mild osteoarthritis."}, actor=care_team
    )

    sent = consult_report_send(referral_id=referral.pk, actor=care_team)

    message = OutboundMessage.objects.get(pk=sent.message_id)
    assert (message.channel, message.to_address) == (MessageChannel.FHIR, client.client_id)
    assert message.document_id == sent.document_id
    bundle = get(live_server, key, "Communication", **{"based-on": f"ServiceRequest/{referral.pk}"})
    (entry,) = bundle.json()["entry"]
    communication = validate(entry["resource"]).model_dump(mode="json", exclude_none=True)
    payload = communication["payload"][0]["contentReference"]["reference"]
    assert payload == f"DocumentReference/{sent.document_id}"
    document = get(live_server, key, payload).json()
    validate(document)
    assert document["type"]["coding"][0]["code"] == "11488-4"
    pdf = requests.get(
        document["content"][0]["attachment"]["url"],
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    sent.refresh_from_db()
    assert sent.delivered_at is not None  # the client fetching the PDF is the delivery
    as_fhir = requests.get(
        document["content"][0]["attachment"]["url"],
        headers={"Authorization": f"Bearer {key}", "Accept": "application/fhir+json"},
        timeout=10,
    ).json()
    validate(as_fhir)
    assert base64.b64decode(as_fhir["data"]) == pdf.content
    task = get(live_server, key, f"Task/{referral.pk}").json()
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("completed", "7.0")
    validate(task)
    assert task["output"][0]["valueReference"] == {"reference": payload}
    assert get(live_server, key, f"ServiceRequest/{referral.pk}").json()["status"] == "completed"
    assert referral.__class__.objects.get(pk=referral.pk).state == State.CLOSED


def test_it_leaves_referrals_from_other_channels_to_the_clinicians_preference(api_client):
    client, _ = api_client
    faxed = factories.referral()
    faxed.sender_system = client.client_id
    faxed.save()

    assert fhir_route(faxed) is None


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", ""),
        ("post", "$process-message"),
        ("post", "ServiceRequest"),
        ("put", "ServiceRequest/1"),
    ],
)
def test_it_refuses_writes_to_a_read_only_client_before_reading_them(live_server, method, path):
    _, key = make_api_client(scopes="system/*.rs")

    answer = getattr(requests, method)(
        f"{live_server.url}/fhir/R4/{path}",
        data=b'{"resourceType": "Bundle"}',
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/fhir+json"},
        timeout=10,
    )

    assert answer.status_code == 403
    assert "create" in answer.text or "update" in answer.text
