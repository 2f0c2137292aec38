"""Every HL7 BSeR example (tests/data/fhir/bser-r4, FHIR R4 XML, as published) posted where it
belongs, each accepted or refused for the reason stated here; and the IG's referral message,
completed with the IG's own Patient, Practitioner, PractitionerRole, Organization and Coverage
examples, accepted as a referral."""

import json
from pathlib import Path

import pytest
from django.test import override_settings
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from lxml import etree

from refloop.interop.fhir.models import FhirSubmission
from refloop.referrals.models import Referral
from tests import factories
from tests.fhir import test_write_fixtures as fx
from tests.fhir.test_write_fixtures import post

writer = fx.writer
DATA = Path(__file__).resolve().parent.parent / "data" / "fhir" / "bser-r4"
XML = "application/fhir+xml"
MESSAGE = "bundle-bser-referral-message-bundle-eve-everywoman.xml"
ALONE = "is not created on its own"
NOT_OURS = "this server takes referrals"

# file -> (where it is posted, status, issue code, FHIRPath expression, words in the diagnostics)
EXPECTED = {
    "TaskBusinessStatusCS.xml": ("CodeSystem", 405, "not-supported", "CodeSystem", NOT_OURS),
    "TaskBusinessStatusVS.xml": ("ValueSet", 405, "not-supported", "ValueSet", NOT_OURS),
    # A document Bundle is a record, not an order: the referral is the ServiceRequest.
    "bundle-bser-referral-feedback-document-bundle-eve-everywoman.xml": (
        "",
        422,
        "not-supported",
        "Bundle.type",
        "type is 'document'",
    ),
    "bundle-bser-referral-request-document-bundle-eve-everywoman.xml": (
        "",
        422,
        "not-supported",
        "Bundle.type",
        "type is 'document'",
    ),
    # The IG's message carries MessageHeader, ServiceRequest and Task only: the Patient it
    # names is not in it, and we keep no copies of other servers' resources.
    MESSAGE: (
        "$process-message",
        422,
        "not-found",
        "Bundle.entry[1].resource.subject",
        "reference Patient/patient-us-core-patient-eve-everywoman not found in the Bundle",
    ),
    "composition-bser-referral-feedback-arthritis-everywoman.xml": (
        "Composition",
        405,
        "not-supported",
        "Composition",
        NOT_OURS,
    ),
    "composition-bser-referral-request-arthritis-everywoman.xml": (
        "Composition",
        405,
        "not-supported",
        "Composition",
        NOT_OURS,
    ),
    "condition-BSeR-Diagnosis-eve-everywoman-diabetes.xml": (
        "Condition",
        405,
        "not-supported",
        "Condition",
        ALONE,
    ),
    "consent-BSeR-PatientConsent-eve-everywoman.xml": (
        "Consent",
        405,
        "not-supported",
        "Consent",
        NOT_OURS,
    ),
    "coverage-BSeR-Coverage-eve-everywoman.xml": (
        "Coverage",
        405,
        "not-supported",
        "Coverage",
        ALONE,
    ),
    "location-bser-service-delivery-location-st-luke.xml": (
        "Location",
        405,
        "not-supported",
        "Location",
        NOT_OURS,
    ),
    "messageheader-BSeR-ReferralMessageHeader.xml": (
        "MessageHeader",
        405,
        "not-supported",
        "MessageHeader",
        "$process-message",
    ),
    "organization-bser-organization-acme-lab.xml": (
        "Organization",
        405,
        "not-supported",
        "Organization",
        ALONE,
    ),
    "organization-bser-organization-saint-luke.xml": (
        "Organization",
        405,
        "not-supported",
        "Organization",
        ALONE,
    ),
    "patient-us-core-patient-eve-everywoman.xml": (
        "Patient",
        405,
        "not-supported",
        "Patient",
        ALONE,
    ),
    "practitioner-bser-hailey-eight.xml": (
        "Practitioner",
        405,
        "not-supported",
        "Practitioner",
        ALONE,
    ),
    "practitioner-bser-henry-seven.xml": (
        "Practitioner",
        405,
        "not-supported",
        "Practitioner",
        ALONE,
    ),
    "practitionerrole-bser-referral-initiator.xml": (
        "PractitionerRole",
        405,
        "not-supported",
        "PractitionerRole",
        ALONE,
    ),
    "practitionerrole-bser-referral-recipient.xml": (
        "PractitionerRole",
        405,
        "not-supported",
        "PractitionerRole",
        ALONE,
    ),
    # Posted on its own, a ServiceRequest must contain what it references.
    "servicerequest-BSeR-ReferralServiceRequest.xml": (
        "ServiceRequest",
        422,
        "not-found",
        "ServiceRequest.subject",
        "reference Patient/patient-us-core-patient-eve-everywoman not found in the request",
    ),
    # The BSeR Task pairs status requested with businessStatus 7.0 'completed': a Task alone is
    # not a referral either way; in a message it is read for its focus and status only.
    "task-BSeR-ReferralTask.xml": ("Task", 405, "not-supported", "Task", ALONE),
}


def test_it_has_an_expectation_for_every_published_example():
    published = {p.name for p in DATA.glob("*.xml")}
    assert published == set(EXPECTED)
    assert len(published) == 21  # and _LICENSE.txt: the 22 files of the conformance set


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_answers_each_bser_example_as_stated(client, writer, name):
    factories.service_line()
    path, status, code, expression, words = EXPECTED[name]
    body = (DATA / name).read_bytes()
    response = post(client, path, writer[1], body, content_type=XML, Accept="application/fhir+json")
    assert response.status_code == status, response.content
    issue = response.json()["issue"][0]
    assert issue["code"] == code
    assert issue["expression"] == [expression]
    assert words in issue["diagnostics"]
    kept = FhirSubmission.objects.get()
    assert bytes(kept.body) == body and kept.outcome == "rejected" and kept.problem
    assert not Referral.objects.exists()


def _resource(name: str) -> dict:
    data = (DATA / name).read_bytes()
    kind = etree.QName(etree.fromstring(data)).localname
    return json.loads(get_fhir_model_class(kind).model_validate_xml(data).model_dump_json())


def completed_message() -> dict:
    """The IG's message Bundle with the IG's own resources it references added as entries."""
    bundle = _resource(MESSAGE)
    for name in (
        "patient-us-core-patient-eve-everywoman.xml",
        "practitionerrole-bser-referral-initiator.xml",
        "practitionerrole-bser-referral-recipient.xml",
        "practitioner-bser-henry-seven.xml",
        "practitioner-bser-hailey-eight.xml",
        "organization-bser-organization-saint-luke.xml",
        "coverage-BSeR-Coverage-eve-everywoman.xml",
    ):
        resource = _resource(name)
        bundle["entry"].append(
            {"fullUrl": f"{resource['resourceType']}/{resource['id']}", "resource": resource}
        )
    return bundle


@pytest.mark.parametrize("as_xml", [False, True], ids=["json", "xml"])
def test_it_accepts_the_bser_message_completed_with_the_igs_own_resources(client, writer, as_xml):
    line = factories.service_line(code="rheumatology", name="Rheumatology")
    api, key = writer
    bundle = completed_message()
    body = Bundle.model_validate(bundle).model_dump_xml() if as_xml else bundle
    content_type = XML if as_xml else fx.FHIR_JSON
    defaults = {api.client_id: "rheumatology"}  # the IG's request names no service line
    with override_settings(REFLOOP_FHIR_DEFAULT_SERVICE_LINES=defaults):
        response = post(
            client,
            "$process-message",
            key,
            body,
            content_type=content_type,
            Accept="application/fhir+json",
        )
        assert response.status_code == 200, response.content
        again = post(
            client,
            "$process-message",
            key,
            body,
            content_type=content_type,
            Accept="application/fhir+json",
        )
    referral = Referral.objects.get()
    header = response.json()["entry"][0]["resource"]
    assert header["response"] == {
        "identifier": "messageheader-BSeR-ReferralMessageHeader",
        "code": "ok",
    }
    assert header["focus"][0] == {"reference": f"Task/{referral.pk}"}
    assert again.json()["entry"][0]["resource"]["focus"] == header["focus"]
    assert referral.service_line == line
    assert (referral.patient.first_name, referral.patient.last_name) == ("Eve", "Everywoman")
    assert str(referral.patient.birth_date) == "1974-11-24"
    assert referral.reason == "Arthritis (disorder)"
    assert referral.sender_reference == "88888888"  # the PLAC identifier; it has no system,
    assert referral.sender_system == api.client_id  # so it is filed under the client's
    assert "NPI 9941339108" in referral.referrer_as_given
    assert "Seven Henry" in referral.referrer_as_given  # given Seven, family Henry, as published
    coverage = referral.patient.coverages.get()
    assert (coverage.payer, coverage.member_id) == ("Saint Luke's Hospital of Kansas City", "12345")
    assert [s.outcome for s in FhirSubmission.objects.order_by("pk")] == ["accepted", "duplicate"]


def test_it_refuses_a_message_event_other_than_a_referral(client, writer):
    bundle = completed_message()
    bundle["entry"][0]["resource"]["eventCoding"]["code"] = "I15"  # status query: not ours
    response = post(client, "$process-message", writer[1], bundle)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-supported"
    assert issue["expression"] == ["Bundle.entry[0].resource.event"]


def test_it_refuses_a_referral_task_that_does_not_ask_for_work(client, writer):
    bundle = completed_message()
    bundle["entry"][2]["resource"]["status"] = "draft"
    response = post(client, "$process-message", writer[1], bundle)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[2].resource.status"]


def test_it_says_what_a_message_carried_that_the_referral_does_not_use(client, writer):
    factories.service_line(code="rheumatology", name="Rheumatology")
    bundle = completed_message()
    consent = _resource("consent-BSeR-PatientConsent-eve-everywoman.xml")
    bundle["entry"].append({"fullUrl": "Consent/c", "resource": consent})
    api, key = writer
    with override_settings(REFLOOP_FHIR_DEFAULT_SERVICE_LINES={api.client_id: "rheumatology"}):
        response = post(client, "$process-message", key, bundle)
    assert response.status_code == 200, response.content
    issues = response.json()["entry"][1]["resource"]["issue"]
    assert issues[1]["diagnostics"] == (
        "Kept as sent but not read into the referral: Bundle.entry[10].resource (Consent)."
    )


def test_it_revises_then_cancels_by_message_i13_and_i14(client, writer):
    """The same BSeR message with event I13 (priority now urgent, a new reason) revises the
    referral it placed with I12; with I14 it cancels it (the referrer withdrew)."""
    factories.service_line(code="rheumatology", name="Rheumatology")
    api, key = writer
    with override_settings(REFLOOP_FHIR_DEFAULT_SERVICE_LINES={api.client_id: "rheumatology"}):
        assert post(client, "$process-message", key, completed_message()).status_code == 200
    referral = Referral.objects.get()
    revised = completed_message()
    revised["entry"][0]["resource"]["eventCoding"]["code"] = "I13"
    service_request = revised["entry"][1]["resource"]
    service_request["priority"] = "urgent"
    service_request["reasonCode"] = [{"text": "Arthritis, now with morning stiffness"}]
    response = post(client, "$process-message", key, revised)
    assert response.status_code == 200, response.content
    assert response.json()["entry"][1]["resource"]["issue"][0]["diagnostics"] == (
        f"{referral.number} revised."
    )
    referral.refresh_from_db()
    assert (referral.priority, referral.reason) == (
        "urgent",
        "Arthritis, now with morning stiffness",
    )
    cancelled = completed_message()
    cancelled["entry"][0]["resource"]["eventCoding"]["code"] = "I14"
    assert post(client, "$process-message", key, cancelled).status_code == 200
    referral.refresh_from_db()
    assert (referral.state, referral.outcome_reason) == ("cancelled", "referrer_withdrew")
    assert Referral.objects.count() == 1


def test_it_refuses_a_cancel_message_for_a_referral_it_does_not_know(client, writer):
    bundle = completed_message()
    bundle["entry"][0]["resource"]["eventCoding"]["code"] = "I14"
    response = post(client, "$process-message", writer[1], bundle)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-found"
    assert issue["expression"] == ["Bundle.entry[1].resource.identifier"]
    assert "no referral of yours has the identifier 88888888" in issue["diagnostics"]


def test_it_refuses_a_cancel_message_from_a_client_that_may_only_create(client, db):
    """I14 cancels a referral: a client whose scopes allow creating referrals but not updating
    them is refused (403), as a PUT revoking it would be, and the referral stays open."""
    factories.service_line(code="rheumatology", name="Rheumatology")
    api, key = fx.write_client()
    api.scopes = "system/ServiceRequest.cr"
    api.save(update_fields=["scopes"])
    with override_settings(REFLOOP_FHIR_DEFAULT_SERVICE_LINES={api.client_id: "rheumatology"}):
        assert post(client, "$process-message", key, completed_message()).status_code == 200
    cancelled = completed_message()
    cancelled["entry"][0]["resource"]["eventCoding"]["code"] = "I14"
    response = post(client, "$process-message", key, cancelled)
    assert response.status_code == 403, response.content
    assert Referral.objects.get().state == "received"
