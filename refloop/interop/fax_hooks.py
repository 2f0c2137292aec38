"""Inbound faxes from a fax provider's webhook: POST /hooks/fax/<provider>/.

Each provider has an adapter (settings.REFLOOP_FAX_PROVIDERS maps its name in the URL to a
dotted path) that checks the request's signature and reads the fax out of it. Nothing is stored
before the signature is checked (a bad one gets 403). A signed fax is then kept whatever its
state: a damaged file or a fax the provider failed to receive is stored with the error for staff
to see, and the answer is 200 so the provider does not resend it. A resend (the provider's id
again) is stored once.

To add a provider: a class with `name`, `signature_valid(request)` and `fax(request)` returning
an `InboundFax`, and its dotted path in settings.REFLOOP_FAX_PROVIDERS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from refloop.inbox.models import Source
from refloop.inbox.services import Arrival, inbox_document_receive

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundFax:
    """A received fax as any provider describes it. `ignore` is set for a callback that is not
    a received fax (a sent fax's status on the same URL): answered 200, nothing stored."""

    provider_id: str = ""
    from_number: str = ""
    to_number: str = ""
    received_at: dt.datetime | None = None
    filename: str = "fax.pdf"
    content: bytes = b""
    raw: dict = field(default_factory=dict)
    error: str = ""
    ignore: bool = False


class FaxProvider(Protocol):
    name: str

    def signature_valid(self, request) -> bool: ...

    def fax(self, request) -> InboundFax: ...


def callback_url(request) -> str:
    """The URL as the provider was given it: our public base URL and the path (with any query),
    not the host this request came through (a proxy may rewrite it)."""
    return settings.REFLOOP_BASE_URL.rstrip("/") + request.get_full_path()


class PhaxioAdapter:
    """Phaxio (Sinch) receive-fax callback, API v2.1.

    Format (phaxio.com/docs/api/v2.1/faxes/receive_callback): "The callback HTTP request is a
    multipart POST and should be processed like a form submission. The PDF of the received fax
    will be contained in a file upload part of the request named 'file'." Its parameters are
    `fax` (the Fax Object as JSON: id, direction, num_pages, status, from_number, to_number,
    created_at, completed_at, ...) and, in v2, `direction`, `is_test`, `success`.

    Signature (phaxio.com/docs/security/callbacks), verbatim:
      1. Take the URL string that you've submitted to Phaxio, including any trailing slashes.
      2. Sort all POST parameters by name.
      3. For each POST parameter, concatenate its name and value without any delimiters to the
         URL in step 1.
      4. Sort any file parts in the request by name.
      5. For each file part, concatenate its part name and SHA1 digest of its file contents to
         the resulting string in step 2.
      6. Sign the resulting string with HMAC-SHA1 using your Callback Token as the key.
    and compare with the X-Phaxio-Signature header (hex digest). The key is
    settings.PHAXIO_CALLBACK_TOKEN; with none set every callback is refused.
    """

    name = "phaxio"
    FILE_PART = "file"

    @staticmethod
    def signature(*, url: str, params: list[tuple[str, str]], files, token: str) -> str:
        """`files` is a list of (part name, file bytes)."""
        message = url
        for name, value in sorted(params, key=lambda pair: pair[0]):
            message += name + value
        for name, content in sorted(files, key=lambda pair: pair[0]):
            message += name + hashlib.sha1(content).hexdigest()
        return hmac.new(token.encode(), message.encode(), hashlib.sha1).hexdigest()

    def signature_valid(self, request) -> bool:
        token = settings.PHAXIO_CALLBACK_TOKEN
        given = request.headers.get("X-Phaxio-Signature", "").strip().lower()
        if not token or not given:
            return False
        params = [(name, value) for name, values in request.POST.lists() for value in values]
        files = [
            (name, _read(upload)) for name, uploads in request.FILES.lists() for upload in uploads
        ]
        url = callback_url(request)
        expected = self.signature(url=url, params=params, files=files, token=token)
        return hmac.compare_digest(expected, given)

    def fax(self, request) -> InboundFax:
        raw = {name: request.POST.get(name) for name in request.POST}
        try:
            fax = json.loads(request.POST.get("fax", ""))
            if not isinstance(fax, dict):
                raise ValueError("not an object")
        except ValueError:
            return InboundFax(
                raw=raw,
                content=_file(request, self.FILE_PART),
                error="Phaxio sent no readable 'fax' field; the request is kept as it came.",
            )
        direction = fax.get("direction") or request.POST.get("direction", "")
        if direction and direction != "received":
            return InboundFax(ignore=True, raw={"direction": direction})
        errors = []
        success = request.POST.get("success", "true").lower() != "false"
        if not success or fax.get("status") == "failure":
            detail = fax.get("error_message") or request.POST.get("message") or "no reason given"
            errors.append(f"Phaxio could not receive this fax completely: {detail[:200]}")
        content = _file(request, self.FILE_PART)
        if not content and success:
            errors.append("Phaxio sent no file with this fax.")
        return InboundFax(
            provider_id=str(fax.get("id", "")),
            from_number=str(fax.get("from_number") or ""),
            to_number=str(fax.get("to_number") or ""),
            received_at=_when(fax.get("completed_at") or fax.get("created_at")),
            filename=f"phaxio-{fax.get('id', 'fax')}.pdf",
            content=content,
            raw=raw,
            error=" ".join(errors),
        )


def _read(upload) -> bytes:
    upload.seek(0)
    content = upload.read()
    upload.seek(0)
    return content


def _file(request, name: str) -> bytes:
    upload = request.FILES.get(name)
    return _read(upload) if upload else b""


def _when(text) -> dt.datetime | None:
    parsed = parse_datetime(str(text)) if text else None
    if parsed is None or timezone.is_naive(parsed):
        return None
    return min(parsed, timezone.now())


def provider_for(name: str) -> FaxProvider | None:
    path = settings.REFLOOP_FAX_PROVIDERS.get(name)
    return import_string(path)() if path else None


@csrf_exempt
@require_POST
def fax_inbound(request, provider: str):
    adapter = provider_for(provider)
    if adapter is None:
        return HttpResponse("Unknown fax provider.", status=404)
    if not adapter.signature_valid(request):
        log.warning("fax webhook %s with a bad or missing signature", provider)
        return HttpResponseForbidden("Bad signature.")
    fax = adapter.fax(request)
    if fax.ignore:
        return JsonResponse({"status": "ignored"})
    document, created = inbox_document_receive(
        arrival=Arrival(
            source=Source.FAX,
            provider=adapter.name,
            provider_id=fax.provider_id,
            filename=fax.filename,
            content=fax.content,
            sender=fax.from_number,
            recipient=fax.to_number,
            received_at=fax.received_at,
            raw=fax.raw,
            error=fax.error,
        )
    )
    return JsonResponse({"status": "stored" if created else "already stored", "id": document.pk})
