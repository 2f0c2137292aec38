"""Webhooks of the SMS provider (Twilio): texts coming in, and what became of texts sent.

Anyone on the internet can POST here, so nothing happens before the X-Twilio-Signature is
checked against the public URL Twilio was given (settings.REFLOOP_BASE_URL + the path).
The answer to an inbound text is an empty TwiML response: replies go through our own queue, so
they are recorded and sent like every other message.
"""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from refloop.core.errors import NotFound
from refloop.messaging.backends.twilio import signature_valid
from refloop.messaging.services import message_status_record, sms_receive

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed(request) -> bool:
    url = settings.REFLOOP_BASE_URL.rstrip("/") + request.get_full_path()
    params = [(key, value) for key, values in request.POST.lists() for value in values]
    if signature_valid(url, params, request.headers.get("X-Twilio-Signature", "")):
        return True
    log.warning("twilio webhook with a bad or missing signature on %s", request.path)
    return False


@csrf_exempt
@require_POST
def twilio_inbound(request):
    if not _signed(request):
        return HttpResponseForbidden("Bad signature.")
    sender = request.POST.get("From", "")
    if not sender:
        return HttpResponseBadRequest("From is missing.")
    sms_receive(
        from_address=sender,
        body=request.POST.get("Body", ""),
        provider_id=request.POST.get("MessageSid", ""),
    )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def twilio_status(request):
    if not _signed(request):
        return HttpResponseForbidden("Bad signature.")
    provider_id = request.POST.get("MessageSid", "")
    message_id = request.GET.get("message", "")
    if not provider_id:
        return HttpResponseBadRequest("MessageSid is missing.")
    try:
        message_status_record(
            provider_id=provider_id,
            provider_status=request.POST.get("MessageStatus", ""),
            error_code=request.POST.get("ErrorCode", ""),
            message_id=int(message_id) if message_id.isdigit() else None,
        )
    except NotFound:
        return HttpResponse("Unknown message.", status=404)
    return HttpResponse(status=204)
