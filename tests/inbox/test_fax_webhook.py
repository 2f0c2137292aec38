"""The Phaxio receive-fax callback, posted as real multipart requests with the signature computed
here from Phaxio's documented recipe (not with the code under test)."""

import hashlib
import hmac
import io
import json

import pytest

from refloop.inbox.models import InboxDocument, InboxStatus
from tests.inbox.conftest import TOKEN, fax_tiff, three_page_pdf

URL = "/hooks/fax/phaxio/"
PUBLIC_URL = "https://refloop.example" + URL


def phaxio_signature(fields: dict, files: dict, token: str = TOKEN) -> str:
    message = PUBLIC_URL
    for name in sorted(fields):
        message += name + fields[name]
    for name in sorted(files):
        message += name + hashlib.sha1(files[name]).hexdigest()
    return hmac.new(token.encode(), message.encode(), hashlib.sha1).hexdigest()


def fax_fields(fax_id=4711, **fax):
    obj = {
        "id": fax_id,
        "direction": "received",
        "num_pages": 3,
        "status": "success",
        "is_test": False,
        "from_number": "+15550104477",
        "to_number": "+15550102000",
        "created_at": "2026-11-27T09:58:00.000-05:00",
        "completed_at": "2026-11-27T09:59:00.000-05:00",
        **fax,
    }
    return {"fax": json.dumps(obj), "direction": "received", "is_test": "false", "success": "true"}


def post(client, fields, files, *, signature=None):
    signature = signature if signature is not None else phaxio_signature(fields, files)
    data = dict(fields)
    for name, content in files.items():
        upload = io.BytesIO(content)
        upload.name = "fax.pdf"
        data[name] = upload
    return client.post(URL, data, HTTP_X_PHAXIO_SIGNATURE=signature)


@pytest.mark.django_db
def test_it_stores_a_signed_fax_with_its_pages(client):
    pdf = three_page_pdf()
    response = post(client, fax_fields(), {"file": pdf})
    assert response.status_code == 200, response.content
    document = InboxDocument.objects.get()
    assert response.json() == {"status": "stored", "id": document.pk}
    assert (document.source, document.provider, document.provider_id) == ("fax", "phaxio", "4711")
    assert document.sender == "+15550104477"
    assert document.page_count == 3 and document.error == ""
    assert document.status == InboxStatus.UNFILED
    assert document.received_at.isoformat().startswith("2026-11-27T14:59")
    assert document.due_at > document.at_risk_at > document.received_at
    with document.original.open("rb") as handle:
        assert handle.read() == pdf


@pytest.mark.django_db
def test_it_refuses_a_wrong_signature_and_stores_nothing(client):
    fields, files = fax_fields(), {"file": three_page_pdf()}
    wrong = phaxio_signature(fields, files, token="someone-elses-token")
    assert post(client, fields, files, signature=wrong).status_code == 403
    assert post(client, fields, files, signature="").status_code == 403
    # Signed for another file than the one sent: the file's SHA-1 is part of the signature.
    signed_other = phaxio_signature(fields, {"file": b"%PDF-1.4 other"})
    assert post(client, fields, files, signature=signed_other).status_code == 403
    assert not InboxDocument.objects.exists()


@pytest.mark.django_db
def test_it_refuses_everything_without_a_callback_token(client, settings):
    settings.PHAXIO_CALLBACK_TOKEN = ""
    fields, files = fax_fields(), {"file": three_page_pdf()}
    assert (
        post(client, fields, files, signature=phaxio_signature(fields, files, "")).status_code
        == 403
    )
    assert not InboxDocument.objects.exists()


@pytest.mark.django_db
def test_it_stores_a_resent_fax_once(client):
    fields, files = fax_fields(), {"file": three_page_pdf()}
    first = post(client, fields, files)
    again = post(client, fields, files)
    assert again.status_code == 200
    assert again.json() == {"status": "already stored", "id": first.json()["id"]}
    assert InboxDocument.objects.count() == 1


@pytest.mark.django_db
def test_it_keeps_a_broken_file_with_the_error(client):
    broken = b"%PDF-1.4\n this is not really a pdf"
    response = post(client, fax_fields(fax_id=99), {"file": broken})
    assert response.status_code == 200
    document = InboxDocument.objects.get()
    assert "damaged" in document.error
    assert document.page_count == 0 and document.status == InboxStatus.UNFILED
    with document.original.open("rb") as handle:
        assert handle.read() == broken


@pytest.mark.django_db
def test_it_keeps_a_fax_the_provider_failed_to_receive(client):
    fields = fax_fields(fax_id=5, status="failure", error_message="Line dropped")
    fields["success"] = "false"
    assert post(client, fields, {}).status_code == 200
    document = InboxDocument.objects.get()
    assert "Line dropped" in document.error and not document.original


@pytest.mark.django_db
def test_it_converts_a_tiff_fax_to_pdf_and_keeps_the_tiff(client):
    tiff = fax_tiff(pages=2)
    assert post(client, fax_fields(fax_id=6), {"file": tiff}).status_code == 200
    document = InboxDocument.objects.get()
    assert document.content_type == "image/tiff" and document.page_count == 2
    with document.viewable.open("rb") as handle:
        assert handle.read().startswith(b"%PDF-")


@pytest.mark.django_db
def test_it_ignores_a_sent_fax_callback_and_unknown_providers(client):
    fields = fax_fields(direction="sent")
    fields["direction"] = "sent"
    response = post(client, fields, {})
    assert response.status_code == 200 and response.json() == {"status": "ignored"}
    assert client.post("/hooks/fax/nobody/", {}).status_code == 404
    assert client.get(URL).status_code == 405
    assert not InboxDocument.objects.exists()
