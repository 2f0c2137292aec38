"""The public e-referral pages (no login): service lines, how to refer (each line's provider page
with its measured turnaround, service sheet and referral packet as PDFs), the form, thank you.

They show nothing about any patient or referral but the reference the sender just got, so they
write no access log. Abuse: form posts per address per hour (a database counter), a cap on the
request's size before it is read, per-file caps, file types by content, a honeypot, CSRF."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from refloop.core.access_log import client_ip
from refloop.core.errors import DomainError
from refloop.directory.models import ServiceLine
from refloop.portal.forms import EReferralForm, reference_sign
from refloop.portal.provider_pdf import provider_packet_pdf, provider_sheet_pdf
from refloop.portal.queries_provider import provider_index, provider_page
from refloop.portal.services import e_referral_submit, reference_new
from refloop.portal.services.throttle import rate_count_add

log = logging.getLogger(__name__)

REFER_SCOPE = "refer"
THANKS_KEY = "portal_refer_reference"
FILES_AGAIN = "For your security, files are not kept when the form comes back: choose them again."


def _context() -> dict:
    return {
        "practice": settings.REFLOOP_PRACTICE_NAME,
        "practice_phone": settings.REFLOOP_PRACTICE_PHONE,
        "max_file_mb": settings.REFLOOP_REFER_MAX_FILE_BYTES // 10**6,
        "max_total_mb": settings.REFLOOP_REFER_MAX_TOTAL_BYTES // 10**6,
    }


def _line_or_404(key: str) -> ServiceLine:
    lines = ServiceLine.objects.filter(active=True)
    line = lines.filter(pk=int(key)).first() if key.isdigit() else lines.filter(code=key).first()
    if line is None:
        raise Http404("No such service.")
    return line


def refer_index(request):
    return render(request, "portal/refer/index.html", {**_context(), "rows": provider_index()})


def refer_line(request, line: str):
    page = provider_page(service_line=_line_or_404(line))
    return render(
        request, "portal/refer/line.html", {**_context(), "page": page, "line": page.line}
    )


def refer_sheet(request, line: str):
    """The line's one-page service sheet (PDF), from the provider page's own data."""
    page = provider_page(service_line=_line_or_404(line), pdf=True)
    return _pdf(provider_sheet_pdf(page=page), f"{page.line.code}-service-sheet.pdf")


def refer_packet(request, line: str):
    """The line's referral packet (PDF): cover, criteria, records, how to refer, fax cover."""
    page = provider_page(service_line=_line_or_404(line), pdf=True)
    return _pdf(provider_packet_pdf(page=page), f"{page.line.code}-referral-packet.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _form_page(request, line, form, *, error: str = "", status: int = 200):
    context = {**_context(), "line": line, "form": form, "error": error, "files_again": FILES_AGAIN}
    return render(request, "portal/refer/form.html", context, status=status)


@never_cache
@csrf_exempt  # checked just below, once the size is known (the CSRF check reads the body)
def refer_new(request, line: str):
    line = _line_or_404(line)
    if request.method != "POST":
        form = EReferralForm(line=line, initial={"form_ref": reference_sign(reference_new())})
        return _form_page(request, line, form)
    # Refused before a byte of the body is read: nothing this big is parsed.
    size = int(request.META.get("CONTENT_LENGTH") or 0)
    if size > settings.REFLOOP_REFER_MAX_TOTAL_BYTES + 1_000_000:
        form = EReferralForm(line=line, initial={"form_ref": reference_sign(reference_new())})
        error = (
            "The files you chose come to more than "
            f"{settings.REFLOOP_REFER_MAX_TOTAL_BYTES // 10**6} MB, so nothing was read. Send "
            "fewer or smaller files (fax the rest)."
        )
        return _form_page(request, line, form, error=error, status=413)
    return _refer_post(request, line)


@csrf_protect
def _refer_post(request, line: ServiceLine):
    count = rate_count_add(
        scope=REFER_SCOPE, key=client_ip(request) or "-", window=dt.timedelta(hours=1)
    )
    form = EReferralForm(request.POST, request.FILES, line=line)
    if count > settings.REFLOOP_REFER_PER_HOUR:
        log.info("e-referral rate limit hit on line %s", line.pk)
        error = (
            "Too many referrals were sent from your network in the last hour. Please wait a "
            f"while, or call us at {settings.REFLOOP_PRACTICE_PHONE}."
        )
        return _form_page(request, line, form, error=error, status=429)
    if not form.is_valid():
        return _form_page(request, line, form, status=400)
    try:
        referral = e_referral_submit(submission=form.submission())
    except DomainError as error:
        return _form_page(request, line, form, error=error.message, status=error.status)
    log.info("e-referral received as referral %s", referral.pk)
    request.session[THANKS_KEY] = form.cleaned_data["form_ref"]
    return redirect("refer_thanks", line=line.code)


@never_cache
def refer_thanks(request, line: str):
    line = _line_or_404(line)
    reference = request.session.get(THANKS_KEY)
    if not reference:
        return redirect("refer_line", line=line.code)
    return render(
        request, "portal/refer/thanks.html", {**_context(), "line": line, "reference": reference}
    )
