"""The staff intake form for referrals that arrive by fax, phone or e-mail."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from refloop.directory.models import Patient
from refloop.referrals.enums import BlockerKind, ChecklistStatus, State
from refloop.referrals.models import Document, Referral
from tests.factories import PDF_BYTES
from tests.web.helpers import sign_in


def _form(line, clinician=None, **changes):
    data = {
        "first_name": "Robin",
        "last_name": "Fernsby",
        "birth_date": "1961-04-12",
        "sex": "female",
        "preferred_language": "English",
        "referrer": clinician.pk if clinician else "",
        "service_line": line.pk,
        "priority": "urgent",
        "channel": "fax",
        "reason": "Worsening right knee pain",
        "diagnoses": "M17.11, m25.561",
        "kind_1": "referral_letter",
        "kind_2": "notes",
        "kind_3": "notes",
        "kind_4": "notes",
    }
    data.update(changes)
    return data


def _pdf(name="letter.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def _tiff():
    out = io.BytesIO()
    pages = [Image.new("1", (40, 40), color=1), Image.new("1", (40, 40), color=0)]
    pages[0].save(out, format="TIFF", save_all=True, append_images=pages[1:])
    return SimpleUploadedFile("fax.tif", out.getvalue(), content_type="image/tiff")


def _stored_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_it_receives_a_faxed_referral_with_its_documents(client, line, clinician, intake):
    sign_in(client, intake)

    response = client.post(
        reverse("referral_new"),
        _form(line, clinician, file_1=_pdf(), file_2=_tiff()),
    )

    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("referral_detail", args=[referral.pk])
    assert referral.state == State.RECEIVED
    assert referral.priority == "urgent"
    assert referral.diagnoses == ["M17.11", "M25.561"]
    assert referral.referring_clinician == clinician
    assert referral.patient.last_name == "Fernsby"
    kinds = sorted(referral.documents.values_list("kind", flat=True))
    assert kinds == ["notes", "referral_letter"]
    fax = referral.documents.get(kind="notes")
    assert fax.viewable and fax.pages == 2  # the TIFF fax became a PDF to view
    assert referral.checklist.get().status == ChecklistStatus.RECEIVED
    page = client.get(response["Location"]).content.decode()
    assert f"Referral {referral.number} received." in page


def test_it_receives_a_referrer_who_is_not_in_the_directory(client, line, intake):
    sign_in(client, intake)

    client.post(
        reverse("referral_new"),
        _form(line, referrer_name="Dr Pat Oddly", referrer_practice="Hill Clinic"),
    )

    referral = Referral.objects.get()
    assert referral.referring_clinician is None
    assert "Dr Pat Oddly" in referral.referrer_as_given
    assert referral.blockers.filter(kind=BlockerKind.REFERRER_NOT_VERIFIED).exists()


def test_it_refuses_a_file_of_another_type_and_saves_nothing(client, settings, line, intake):
    sign_in(client, intake)
    fake = SimpleUploadedFile("letter.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")

    response = client.post(
        reverse("referral_new"), _form(line, referrer_name="Dr A", file_1=_pdf(), file_2=fake)
    )

    assert response.status_code == 400
    assert (
        "&#x27;letter.pdf&#x27; is not a PDF, TIFF, PNG or JPEG file." in response.content.decode()
    )
    assert Referral.objects.count() == 0
    assert Patient.objects.count() == 0
    assert Document.objects.count() == 0
    assert _stored_files(settings) == []


def test_it_refuses_a_file_over_the_size_limit(client, settings, line, intake):
    settings.REFLOOP_MAX_UPLOAD_BYTES = 20
    sign_in(client, intake)

    response = client.post(
        reverse("referral_new"), _form(line, referrer_name="Dr A", file_1=_pdf())
    )

    assert response.status_code == 400
    assert "the limit is" in response.content.decode()
    assert Referral.objects.count() == 0


def test_it_refuses_bad_codes_with_clear_messages(client, line, intake):
    sign_in(client, intake)

    response = client.post(
        reverse("referral_new"),
        _form(line, diagnoses="M17.11, knee", referrer_npi="1234567890"),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "is not an ICD-10-CM code" in page
    assert "fails its check digit" in page
    assert Referral.objects.count() == 0


def test_it_warns_of_an_open_referral_for_the_same_patient_and_line(
    client, line, clinician, intake
):
    sign_in(client, intake)
    client.post(reverse("referral_new"), _form(line, clinician))
    first = Referral.objects.get()

    warned = client.post(reverse("referral_new"), _form(line, clinician, file_1=_pdf()))

    page = warned.content.decode()
    assert "Possible duplicate" in page
    assert first.number in page
    assert "Attach the documents again" in page
    assert Referral.objects.count() == 1

    client.post(reverse("referral_new"), _form(line, clinician, receive_anyway="on"))
    assert Referral.objects.count() == 2
    assert Patient.objects.count() == 1


def test_it_does_not_warn_for_another_service_line(client, line, clinician, intake):
    from tests import factories

    cardiology = factories.service_line(code="cardiology", name="Cardiology")
    sign_in(client, intake)
    client.post(reverse("referral_new"), _form(line, clinician))

    response = client.post(reverse("referral_new"), _form(cardiology, clinician))

    assert response.status_code == 302
    assert Referral.objects.count() == 2
