"""Public pages of campaign e-mail (no login; the recipient's token is the only key):

- unsubscribe: GET shows the address and a confirm button; POST (the button, or a mail client's
  RFC 8058 one-click POST, which carries no CSRF token) suppresses the address at once, for good.
- open pixel and click redirect: recorded only where tracking is allowed (the practice's setting
  and the campaign's flag). A click goes only to a link of the approved version that was sent,
  chosen by its position (no open redirect); when tracking is off the link still leads there but
  nothing is recorded (a message sent earlier keeps working).
Tokens are random; the pages show no patient data and carry none in their URLs.
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from refloop.campaigns.compose import links_of, tracking_on
from refloop.campaigns.queries import address_suppressed, recipient_by_token
from refloop.campaigns.services import recipient_track, suppression_add

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _recipient_or_404(token: str):
    recipient = recipient_by_token(token=token)
    if recipient is None:
        raise Http404("This link is not valid.")
    return recipient


def _context(**extra) -> dict:
    return {
        "practice": settings.REFLOOP_PRACTICE_NAME,
        "practice_phone": settings.REFLOOP_PRACTICE_PHONE,
        **extra,
    }


@never_cache
@csrf_exempt  # RFC 8058: the mail provider's one-click POST has no CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    recipient = _recipient_or_404(token)
    if request.method == "POST":
        suppression_add(email=recipient.email, source=f"campaign {recipient.campaign_id}")
        return render(request, "campaigns/unsubscribed.html", _context(email=recipient.email))
    return render(
        request,
        "campaigns/unsubscribe.html",
        _context(email=recipient.email, already=address_suppressed(email=recipient.email)),
    )


@never_cache
@require_GET
def opened(request, token: str):
    recipient = _recipient_or_404(token)
    if not tracking_on(recipient.campaign):
        raise Http404("Not tracked.")
    recipient_track(recipient=recipient, what="open", now=timezone.now())
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def clicked(request, token: str, index: int):
    recipient = _recipient_or_404(token)
    version = recipient.campaign.content_version
    links = links_of(version.body) if version is not None else []
    if index >= len(links):
        raise Http404("No such link.")
    if tracking_on(recipient.campaign):
        recipient_track(recipient=recipient, what="click", now=timezone.now())
    return HttpResponseRedirect(links[index])
