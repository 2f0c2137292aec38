"""The public e-referral form: how to refer, the checks made before anything is submitted, the
reference given back, and the sender marked not verified until staff confirm them."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from refloop.directory.enums import DocumentKind
from refloop.directory.models import ServiceLine
from refloop.referrals.enums import BlockerKind, Channel, ChecklistStatus
from refloop.referrals.models import Referral
from refloop.referrals.services import blocker_resolve
from tests import factories
from tests.factories import PDF_BYTES


@pytest.fixture
def ortho(db):
    line = factories.service_line(checklist=(DocumentKind.NOTES, DocumentKind.IMAGING))
    line.acceptance_criteria = "Adults with knee or hip pain after six weeks of therapy."
    line.exclusions = "Acute fractures: send to the emergency department."
    line.fax = "555-010-3311"
    line.save()
    return line


def _pdf(name="notes.pdf", content=PDF_BYTES):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _form_ref(client, line) -> str:
    page = client.get(reverse("refer_new", args=[line.code]))
    return re.search(r'name="form_ref" value="([^"]+)"', page.content.decode()).group(1)


def fields(client, line, **changes) -> dict:
    data = {
        "form_ref": _form_ref(client, line),
        "website": "",
        "patient_first_name": "Jordan",
        "patient_last_name": "Okafor",
        "patient_birth_date": "1962-03-14",
        "patient_sex": "female",
        "patient_phone": "(555) 010-4821",
        "patient_email": "",
        "patient_language": "Spanish",
        "referrer_name": "Dr Dana Referrer",
        "referrer_npi": factories.npi(777),
        "referrer_practice": "Maple Family Practice",
        "referrer_fax": "555-010-7000",
        "referrer_email": "office@maple.example",
        "reason": "Right knee pain for six months despite physiotherapy.",
        "diagnoses": "M17.11, M25.561",
        "priority": "routine",
    }
    for item in line.checklist.all():
        data[f"doc_{item.pk}"] = _pdf(f"{item.document_kind}.pdf")
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_it_lists_active_service_lines_and_shows_how_to_refer(client, ortho):
    ServiceLine.objects.create(code="closed-line", name="Closed line", active=False)

    index = client.get(reverse("refer")).content.decode()
    page = client.get(reverse("refer_line", args=[ortho.code])).content.decode()

    assert "Orthopedics" in index and "Closed line" not in index
    assert "Adults with knee or hip pain" in page and "Acute fractures" in page
    assert "Clinical notes (required)" in page and "Imaging (required)" in page
    assert "555-010-3311" in page and reverse("refer_new", args=[ortho.code]) in page
    assert client.get(reverse("refer_line", args=["closed-line"])).status_code == 404


def test_it_receives_a_referral_and_gives_the_sender_a_reference(client, ortho):
    response = client.post(reverse("refer_new", args=[ortho.code]), fields(client, ortho))

    assert response.status_code == 302
    thanks = client.get(response["Location"]).content.decode()
    referral = Referral.objects.get()
    assert referral.channel == Channel.PORTAL and referral.sender_system == "refloop-portal"
    assert re.fullmatch(r"RF-[2-9A-Z]{5}-[2-9A-Z]{5}", referral.sender_reference)
    assert referral.sender_reference in thanks
    # Nothing else: not our number, not the patient.
    assert referral.number not in thanks and "Okafor" not in thanks
    assert referral.patient.preferred_language == "Spanish"
    assert referral.diagnoses == ["M17.11", "M25.561"]
    assert "fax 555-010-7000" in referral.referrer_as_given
    assert "office@maple.example" in referral.referrer_as_given
    assert set(referral.checklist.values_list("status", flat=True)) == {ChecklistStatus.RECEIVED}
    assert referral.documents.count() == 2


def test_it_marks_the_sender_not_verified_even_with_a_known_npi(client, ortho, intake):
    known = factories.referrer()  # a verified clinician in the directory

    client.post(
        reverse("refer_new", args=[ortho.code]),
        fields(client, ortho, referrer_npi=known.npi),
    )

    referral = Referral.objects.get()
    assert referral.referring_clinician == known  # matched, but anyone can type an NPI
    blocker = referral.blockers.get(kind=BlockerKind.REFERRER_NOT_VERIFIED)
    assert blocker.is_open and "public e-referral form" in blocker.note
    # Staff confirm the referrer the way they do today: resolving the blocker.
    blocker_resolve(referral_id=referral.pk, kind=BlockerKind.REFERRER_NOT_VERIFIED, actor=intake)
    assert not referral.blockers.filter(resolved_at__isnull=True).exists()


def test_it_answers_the_same_form_posted_twice_with_the_same_referral(client, ortho):
    data = fields(client, ortho)
    client.post(reverse("refer_new", args=[ortho.code]), data)
    again = {k: (_pdf() if k.startswith("doc_") else v) for k, v in data.items()}

    response = client.post(reverse("refer_new", args=[ortho.code]), again)

    assert response.status_code == 302 and Referral.objects.count() == 1


def test_it_refuses_without_a_required_document_and_keeps_what_was_typed(client, ortho):
    imaging = ortho.checklist.get(document_kind=DocumentKind.IMAGING)

    response = client.post(
        reverse("refer_new", args=[ortho.code]),
        {k: v for k, v in fields(client, ortho).items() if k != f"doc_{imaging.pk}"},
    )

    page = response.content.decode()
    assert response.status_code == 400 and not Referral.objects.exists()
    assert "This field is required." in page
    assert 'value="Okafor"' in page and "Right knee pain for six months" in page
    assert "choose them again" in page


def test_it_refuses_a_file_that_is_not_a_pdf_tiff_png_or_jpeg(client, ortho):
    notes = ortho.checklist.get(document_kind=DocumentKind.NOTES)
    fake = SimpleUploadedFile("notes.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")

    response = client.post(
        reverse("refer_new", args=[ortho.code]), fields(client, ortho, **{f"doc_{notes.pk}": fake})
    )

    assert response.status_code == 400 and not Referral.objects.exists()
    assert "is not a PDF, TIFF, PNG or JPEG file" in response.content.decode()


def test_it_refuses_a_file_over_the_size_cap(client, ortho, settings):
    settings.REFLOOP_REFER_MAX_FILE_BYTES = 1000
    notes = ortho.checklist.get(document_kind=DocumentKind.NOTES)
    big = _pdf(content=PDF_BYTES + b"0" * 2000)

    response = client.post(
        reverse("refer_new", args=[ortho.code]), fields(client, ortho, **{f"doc_{notes.pk}": big})
    )

    assert response.status_code == 400 and not Referral.objects.exists()
    assert "each file may be at most" in response.content.decode()


def test_it_refuses_a_request_over_the_total_cap_before_reading_it(client, ortho, settings):
    settings.REFLOOP_REFER_MAX_TOTAL_BYTES = 10
    data = fields(client, ortho, other_documents=_pdf(content=PDF_BYTES + b"0" * 1_100_000))

    response = client.post(reverse("refer_new", args=[ortho.code]), data)

    assert response.status_code == 413 and not Referral.objects.exists()
    assert "nothing was read" in response.content.decode()


def test_it_refuses_bad_diagnosis_codes_and_npi(client, ortho):
    response = client.post(
        reverse("refer_new", args=[ortho.code]),
        fields(client, ortho, diagnoses="M17.11 knee", referrer_npi="1234567890"),
    )

    page = response.content.decode()
    assert response.status_code == 400 and not Referral.objects.exists()
    assert "&#x27;KNEE&#x27; is not an ICD-10-CM code" in page
    assert "fails its check digit" in page


def test_it_limits_posts_per_address_per_hour(client, ortho, settings):
    settings.REFLOOP_REFER_PER_HOUR = 2
    url = reverse("refer_new", args=[ortho.code])
    client.post(url, fields(client, ortho))
    client.post(url, fields(client, ortho, patient_last_name="Second"))

    third = client.post(url, fields(client, ortho, patient_last_name="Third"))
    other_address = client.post(
        url, fields(client, ortho, patient_last_name="Fourth"), REMOTE_ADDR="198.51.100.7"
    )

    assert third.status_code == 429 and "Too many referrals" in third.content.decode()
    assert 'value="Third"' in third.content.decode()  # kept as typed
    assert other_address.status_code == 302
    assert sorted(Referral.objects.values_list("patient__last_name", flat=True)) == [
        "Fourth",
        "Okafor",
        "Second",
    ]


def test_it_refuses_a_form_whose_hidden_field_a_bot_filled(client, ortho):
    response = client.post(
        reverse("refer_new", args=[ortho.code]), fields(client, ortho, website="http://spam")
    )

    assert response.status_code == 400 and not Referral.objects.exists()


def test_it_refuses_a_post_without_the_csrf_token(ortho):
    browser = Client(enforce_csrf_checks=True)
    data = fields(browser, ortho)

    response = browser.post(reverse("refer_new", args=[ortho.code]), data)

    assert response.status_code == 403 and not Referral.objects.exists()


def test_it_refuses_a_forged_reference(client, ortho):
    response = client.post(
        reverse("refer_new", args=[ortho.code]), fields(client, ortho, form_ref="RF-AAAAA-BBBBB")
    )

    assert response.status_code == 400 and "This form has expired" in response.content.decode()
