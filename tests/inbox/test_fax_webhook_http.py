"""The fax webhook over a real socket: a signed multipart POST by `requests` to the live server,
as Phaxio's servers would send it. The signature covers the URL Phaxio was given
(settings.REFLOOP_BASE_URL + path), not the address this request came through."""

import hashlib
import hmac
import json

import pytest
import requests

from refloop.inbox.models import InboxDocument
from tests.inbox.conftest import TOKEN, three_page_pdf


@pytest.fixture
def server(request):
    """pytest-django's live server; started with a MEDIA_URL its media handler can live with
    (as tests/browser does: documents still have no public URL)."""
    from django.conf import settings as live

    before = live.MEDIA_URL
    live.MEDIA_URL = "/no-public-media/"
    try:
        return request.getfixturevalue("live_server")
    finally:
        live.MEDIA_URL = before


def _signed(fields: dict, pdf: bytes, token: str = TOKEN) -> str:
    message = "https://refloop.example/hooks/fax/phaxio/"
    message += "".join(name + fields[name] for name in sorted(fields))
    message += "file" + hashlib.sha1(pdf).hexdigest()
    return hmac.new(token.encode(), message.encode(), hashlib.sha1).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_it_takes_a_signed_fax_over_http_and_refuses_a_forged_one(server):
    pdf = three_page_pdf()
    fields = {
        "fax": json.dumps({"id": 777, "direction": "received", "from_number": "+15550104477"}),
        "direction": "received",
        "is_test": "false",
        "success": "true",
    }
    url = f"{server.url}/hooks/fax/phaxio/"
    files = {"file": ("fax.pdf", pdf, "application/pdf")}

    forged = requests.post(
        url, data=fields, files=files, headers={"X-Phaxio-Signature": _signed(fields, pdf, "x")}
    )
    assert forged.status_code == 403 and not InboxDocument.objects.exists()

    for _ in range(2):  # Phaxio retries a callback it thinks failed
        response = requests.post(
            url, data=fields, files=files, headers={"X-Phaxio-Signature": _signed(fields, pdf)}
        )
        assert response.status_code == 200, response.text
    document = InboxDocument.objects.get()
    assert (document.provider_id, document.page_count) == ("777", 3)
