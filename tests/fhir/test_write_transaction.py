"""POST /fhir/R4/ with a transaction Bundle: a referral in, kept as sent, resends answered with
the same ids, refusals naming their place."""

import json

import pytest

from refloop.interop.fhir.models import FhirSubmission
from refloop.referrals.enums import Channel, Priority
from refloop.referrals.models import Referral
from tests import factories
from tests.fhir import test_write_fixtures as fx
from tests.fhir.test_write_fixtures import PLACER_SYSTEM, post, referral_bundle

writer, other_writer = fx.writer, fx.other_writer


@pytest.fixture
def orthopedics(db):
    return factories.service_line()


def test_it_turns_a_transaction_bundle_into_a_referral(client, writer, orthopedics):
    api, key = writer
    known = factories.referrer()
    response = post(client, "", key, referral_bundle(placer="A-1", npi=known.npi))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["type"] == "transaction-response"
    referral = Referral.objects.get()
    first = answer["entry"][0]["response"]
    assert first["status"] == "201 Created"
    assert first["location"] == f"ServiceRequest/{referral.pk}/_history/1"
    assert f"Task/{referral.pk}" in first["outcome"]["issue"][0]["diagnostics"]
    assert len(answer["entry"]) == 8
    locations = [e["response"].get("location") for e in answer["entry"]]
    assert locations[1:3] == [f"Patient/{referral.patient_id}", f"Practitioner/{known.pk}"]
    assert locations[7] == f"DocumentReference/{referral.documents.get().pk}"
    assert referral.channel == Channel.FHIR
    assert referral.priority == Priority.URGENT
    assert referral.diagnoses == ["M17.11"]
    assert referral.reason.startswith("Right knee pain for six months")
    assert "Failed physiotherapy." in referral.reason
    assert referral.referring_clinician == known
    assert referral.referring_organization == api.organization
    assert (referral.sender_system, referral.sender_reference) == (PLACER_SYSTEM, "A-1")
    assert referral.patient.coverages.get().member_id == "MBR123"
    document = referral.documents.get()
    assert document.kind == "notes" and document.content_type == "application/pdf"
    assert referral.checklist.get().status == "received"
    kept = FhirSubmission.objects.get()
    assert (kept.outcome, kept.referral, kept.client) == ("accepted", referral, api)
    assert json.loads(bytes(kept.body))["type"] == "transaction"


def test_it_answers_a_resend_with_the_same_ids_and_changes_nothing(client, writer, orthopedics):
    _, key = writer
    bundle = referral_bundle(placer="A-2")
    first = post(client, "", key, bundle).json()
    again = post(client, "", key, bundle).json()
    assert Referral.objects.count() == 1
    assert again["entry"][0]["response"]["status"] == "200 OK"
    location = first["entry"][0]["response"]["location"]
    assert again["entry"][0]["response"]["location"] == location
    assert [s.outcome for s in FhirSubmission.objects.order_by("pk")] == ["accepted", "duplicate"]
    assert Referral.objects.get().documents.count() == 1


def test_it_files_identifiers_without_a_system_under_each_client(
    client, writer, other_writer, orthopedics
):
    for _, key in (writer, other_writer):
        bundle = referral_bundle(placer="SAME")
        bundle["entry"][0]["resource"]["identifier"][0].pop("system")
        bundle["entry"][0]["request"].pop("ifNoneExist")
        assert post(client, "", key, bundle).status_code == 200
    filed = Referral.objects.values_list("sender_system", "sender_reference")
    assert sorted(filed) == sorted(
        [(writer[0].client_id, "SAME"), (other_writer[0].client_id, "SAME")]
    )


def test_it_never_answers_with_another_organizations_referral(
    client, writer, other_writer, orthopedics
):
    post(client, "", writer[1], referral_bundle(placer="TAKEN"))
    response = post(client, "", other_writer[1], referral_bundle(placer="TAKEN"))
    assert response.status_code == 409
    issue = response.json()["issue"][0]
    assert issue["code"] == "duplicate"
    assert f"{PLACER_SYSTEM}|TAKEN is already used by another sender" in issue["diagnostics"]
    assert "ServiceRequest/" not in response.content.decode()
    assert Referral.objects.get().referring_organization == writer[0].organization
    assert FhirSubmission.objects.order_by("pk").last().outcome == "rejected"


def test_it_refuses_a_reference_not_in_the_bundle_and_keeps_what_was_sent(
    client, writer, orthopedics
):
    bundle = referral_bundle()
    bundle["entry"][0]["resource"]["subject"] = {"reference": "urn:uuid:not-there"}
    response = post(client, "", writer[1], bundle)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-found"
    assert issue["expression"] == ["Bundle.entry[0].resource.subject"]
    assert "urn:uuid:not-there not found in the Bundle" in issue["diagnostics"]
    kept = FhirSubmission.objects.get()
    assert kept.outcome == "rejected" and "urn:uuid:not-there" in kept.problem
    assert json.loads(bytes(kept.body)) == bundle
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "expression", "words"),
    [
        (
            lambda b: b["entry"][1]["resource"].update(birthDate="1974-13-01"),
            400,
            "Bundle.entry[1].resource.birthDate",
            "Date",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(colour="red"),
            400,
            "Bundle.entry[0].resource.colour",
            "not an element",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(priority="soon"),
            422,
            "Bundle.entry[0].resource.priority",
            "'soon' is not a request priority",
        ),
        (
            lambda b: b["entry"][6]["resource"]["code"]["coding"][0].update(code="knee"),
            422,
            "Bundle.entry[6].resource.code.coding[0].code",
            "not an ICD-10-CM code",
        ),
        (
            lambda b: b["entry"][0]["resource"]["category"][0]["coding"][0].update(code="nope"),
            422,
            "Bundle.entry[0].resource.category[0].coding[0].code",
            "'nope' is not one of our active service lines",
        ),
        (
            lambda b: b["entry"][0]["resource"].pop("category"),
            422,
            "Bundle.entry[0].resource.category",
            "our codes: orthopedics",
        ),
        (
            lambda b: [
                b["entry"][0]["resource"].pop(k) for k in ("reasonCode", "note", "reasonReference")
            ],
            422,
            "Bundle.entry[0].resource.reasonCode",
            "give the reason",
        ),
        (
            lambda b: b["entry"][7]["resource"]["content"][0]["attachment"].update(
                data="aGVsbG8gd29ybGQ="
            ),
            422,
            "Bundle.entry[7].resource.content[0].attachment",
            "is not a PDF, TIFF, PNG or JPEG",
        ),
        (
            lambda b: b["entry"].append(
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": "BMI"},
                    },
                    "request": {"method": "POST", "url": "Observation"},
                }
            ),
            422,
            "Bundle.entry[8].resource",
            "Observation is not accepted",
        ),
        (
            lambda b: b.update(type="batch"),
            422,
            "Bundle.type",
            "batch Bundles are not supported",
        ),
        (
            lambda b: b["entry"][0]["request"].update(ifNoneExist="identifier=other|x"),
            422,
            "Bundle.entry[0].resource.identifier",
            "names an identifier the ServiceRequest does not carry",
        ),
    ],
    ids=[
        "bad-date",
        "unknown-element",
        "priority",
        "icd10",
        "service-line",
        "no-service-line",
        "no-reason",
        "not-a-pdf",
        "unsupported-type",
        "batch",
        "if-none-exist",
    ],
)
def test_it_names_the_exact_problem(client, writer, orthopedics, change, status, expression, words):
    bundle = referral_bundle()
    change(bundle)
    response = post(client, "", writer[1], bundle)
    assert response.status_code == status, response.content
    issues = response.json()["issue"]
    assert any(
        expression in i.get("expression", []) and words in i["diagnostics"] for i in issues
    ), issues
    assert FhirSubmission.objects.get().outcome == "rejected"
    assert not Referral.objects.exists()


def test_it_refuses_what_is_not_fhir(client, writer, orthopedics):
    response = post(client, "", writer[1], b"{not json")
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "structure"
    assert bytes(FhirSubmission.objects.get().body) == b"{not json"
    response = post(client, "", writer[1], b"hello", content_type="text/plain")
    assert response.status_code == 415


def test_it_refuses_a_nul_character_by_its_place_and_keeps_what_was_sent(
    client, writer, orthopedics
):
    """PostgreSQL stores no NUL: such a string once failed the referral's write with a 500."""
    bundle = referral_bundle(last_name="Nul\u0000name")
    response = post(client, "", writer[1], bundle)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.name[0].family"]
    assert "NUL character (U+0000)" in issue["diagnostics"]
    kept = FhirSubmission.objects.get()
    assert kept.outcome == "rejected" and json.loads(bytes(kept.body)) == bundle
    assert not Referral.objects.exists()


def test_it_requires_an_api_key(client, orthopedics):
    response = post(client, "", "not-a-key", referral_bundle())
    assert response.status_code == 401
    assert response.json()["issue"][0]["code"] == "login"
    assert not FhirSubmission.objects.exists()


def test_it_reads_and_answers_xml(client, writer, orthopedics):
    from fhir.resources.R4B.bundle import Bundle

    xml = Bundle.model_validate(referral_bundle(placer="X-1")).model_dump_xml()
    response = post(client, "", writer[1], xml, content_type="application/fhir+xml")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+xml")
    answer = Bundle.model_validate_xml(response.content)
    assert answer.type == "transaction-response"
    assert Referral.objects.get().sender_reference == "X-1"


def test_it_keeps_what_was_sent_when_processing_dies_midway(
    client, writer, orthopedics, monkeypatch
):
    """The submission is committed before processing: a crash inside referral_receive leaves
    it 'received' with its bytes, to be replayed, and no half-made referral."""
    from refloop.interop.fhir.inbound import services

    def dies(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "referral_receive", dies)
    bundle = referral_bundle(placer="CRASH-1")
    with pytest.raises(RuntimeError):
        post(client, "", writer[1], bundle)
    kept = FhirSubmission.objects.get()
    assert kept.outcome == "received"
    assert json.loads(bytes(kept.body)) == bundle
    assert not Referral.objects.exists()


def test_it_replays_a_kept_submission_once_the_problem_is_fixed(client, writer):
    """Refused because the service line did not exist yet: once it does, the kept bytes are
    processed again and become the referral; replaying it again changes nothing."""
    from refloop.interop.fhir.inbound.services import submission_replay

    response = post(client, "", writer[1], referral_bundle(placer="LATER", line_code="hand"))
    assert response.status_code == 422
    kept = FhirSubmission.objects.get()
    assert "'hand' is not one of our active service lines" in kept.problem
    factories.service_line(code="hand", name="Hand surgery")
    replayed = submission_replay(submission_id=kept.pk)
    assert replayed.outcome == "accepted"
    referral = Referral.objects.get()
    assert (replayed.referral, referral.service_line.code) == (referral, "hand")
    assert submission_replay(submission_id=kept.pk).referral == referral
    assert Referral.objects.count() == 1


def test_it_replays_an_update_to_the_referral_named_in_the_body(client, writer, orthopedics):
    from refloop.interop.fhir.inbound.services import submission_replay

    bundle = referral_bundle(placer="R-UPD")
    post(client, "", writer[1], bundle)
    referral = Referral.objects.get()
    revoke = {**bundle["entry"][0]["resource"], "id": str(referral.pk), "status": "revoked"}
    kept = FhirSubmission.objects.create(
        client=writer[0],
        interaction="update",
        content_type="application/fhir+json",
        body=json.dumps(revoke).encode(),
    )
    assert submission_replay(submission_id=kept.pk).outcome == "accepted"
    referral.refresh_from_db()
    assert referral.state == "cancelled"


def test_it_places_a_referral_in_a_bounded_number_of_queries(
    client, writer, orthopedics, django_assert_max_num_queries
):
    """The intake path's queries: auth, keep, map (service line, clinician), referral_receive,
    settle: 34 today. A guard against a query per entry creeping in."""
    factories.referrer()
    post(client, "", writer[1], referral_bundle())  # warm: content types, first-use lookups
    with django_assert_max_num_queries(36):
        response = post(client, "", writer[1], referral_bundle())
    assert response.status_code == 200
