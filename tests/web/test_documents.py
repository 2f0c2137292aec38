"""Documents are served only through views that check the role and write the access log."""

import io

from django.urls import reverse
from PIL import Image

from refloop.core.models import AccessLogEntry
from refloop.directory.enums import DocumentKind
from refloop.referrals.services import IncomingDocument, document_add
from tests.factories import PDF_BYTES
from tests.web.helpers import sign_in


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_serves_a_document_inline_and_logs_it(client, referral, triage):
    document = referral.documents.get()
    sign_in(client, triage)

    response = client.get(reverse("document_view", args=[document.pk]))

    assert response.status_code == 200
    assert _body(response) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert "Quill" not in response["Content-Disposition"]  # no PHI in the file name
    assert response["Cache-Control"] == "private, no-store"
    entry = AccessLogEntry.objects.get(action="download")
    assert (entry.username, entry.object_type, entry.object_id, entry.patient_id) == (
        "triage",
        "document",
        str(document.pk),
        referral.patient_id,
    )


def test_it_shows_the_pdf_made_from_a_tiff_and_gives_the_original_as_a_file(
    client, referral, intake
):
    out = io.BytesIO()
    Image.new("1", (30, 30), color=1).save(out, format="TIFF")
    tiff = out.getvalue()
    document = document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(kind=DocumentKind.LABS, filename="fax.tif", content=tiff),
        actor=intake,
    )
    sign_in(client, intake)

    viewed = client.get(reverse("document_view", args=[document.pk]))
    original = client.get(reverse("document_original", args=[document.pk]))

    assert _body(viewed).startswith(b"%PDF")
    assert original["Content-Disposition"].startswith("attachment")
    assert original["Content-Type"] == "image/tiff"
    assert _body(original) == tiff
    assert AccessLogEntry.objects.filter(action="download").count() == 2


def test_it_refuses_documents_to_roles_without_patient_data(client, referral, compliance):
    document = referral.documents.get()
    sign_in(client, compliance)

    response = client.get(reverse("document_view", args=[document.pk]))

    assert response.status_code == 403
    assert not AccessLogEntry.objects.filter(action="download").exists()


def test_it_has_no_public_url_for_documents(client, referral, settings):
    document = referral.documents.get()

    assert settings.MEDIA_URL is None
    response = client.get("/" + document.original.name)
    assert response.status_code in {302, 404}
