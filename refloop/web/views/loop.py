"""Writing the consult report, and the referrer's no-login acknowledgement link."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from refloop.core.access_log import access_log_write
from refloop.core.errors import DomainError
from refloop.core.models import AccessLogEntry
from refloop.loop.models import REPORT_SECTIONS, ConsultReport
from refloop.loop.services import (
    consult_report_save,
    consult_report_start,
    report_acknowledge_by_link,
)
from refloop.referrals.models import Referral
from refloop.web.errors import domain_error_message, domain_error_render
from refloop.web.forms import ConsultReportForm
from refloop.web.views import requires


@requires("close_referral")
def report_write(request, pk: int):
    """The report's sections, saved as a draft; sending is an action on the referral page."""
    referral = Referral.objects.select_related("patient", "service_line").filter(pk=pk).first()
    if referral is None:
        raise Http404("No such referral.")
    access_log_write(
        request=request,
        action=AccessLogEntry.Action.VIEW,
        object_type="consult_report",
        object_id=referral.pk,
        patient_id=referral.patient_id,
    )
    report = ConsultReport.objects.filter(referral=referral).first()
    if report is None:
        report = consult_report_start(referral)
    fields = [name for name, _ in REPORT_SECTIONS]
    posted = request.method == "POST"
    form = ConsultReportForm(
        request.POST if posted else None, initial={f: getattr(report, f) for f in fields}
    )
    for name, heading in REPORT_SECTIONS:
        form.fields[name].label = heading
    context = {"referral": referral, "report": report, "form": form}
    if not posted:
        return render(request, "web/report_write.html", context)
    if not form.is_valid():
        return render(request, "web/report_write.html", context, status=400)
    try:
        consult_report_save(referral_id=referral.pk, texts=form.cleaned_data, actor=request.user)
    except DomainError as error:
        return domain_error_render(request, error, "web/report_write.html", context)
    messages.success(request, "Report draft saved.")
    return redirect("referral_detail", pk=referral.pk)


@never_cache
def report_ack(request, token: str):
    """No login: the referrer confirms receipt. The page shows no PHI, whatever happens; the
    link is used by the button (POST), not by opening it, so a mail scanner cannot spend it."""
    if request.method != "POST":
        return render(request, "web/report_ack.html", {"ask": True})
    try:
        report_acknowledge_by_link(token=token)
    except DomainError as error:
        return render(
            request,
            "web/report_ack.html",
            {"problem": domain_error_message(error)},
            status=error.status,
        )
    return render(request, "web/report_ack.html", {"thanks": True})
