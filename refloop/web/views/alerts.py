"""A person's alerts: the list behind the badge in the top bar, and marking them read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from refloop.alerts.queries import alerts_for
from refloop.alerts.services import alerts_mark_read
from refloop.core.errors import DomainError
from refloop.web.views import query_with, safe_next

ALERTS_PAGE_SIZE = 50


@login_required
def alert_list(request):
    """Newest first. Alerts name referrals by number only, so the page shows no patient and
    writes no access log; the link to a referral is offered to those who may open it."""
    rows = alerts_for(user=request.user).only(
        "id", "referral_id", "level", "kind", "text", "created_at", "read_at"
    )
    page = Paginator(rows, ALERTS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "previous_query": query_with(request.GET, page=page.number - 1),
        "next_query": query_with(request.GET, page=page.number + 1),
    }
    return render(request, "web/alerts.html", context)


@require_POST
@login_required
def alerts_read(request):
    """Mark one alert read (`alert`), or all of the person's alerts (`all`)."""
    if request.POST.get("all"):
        marked = alerts_mark_read(user=request.user)
    else:
        raw = request.POST.get("alert", "")
        if not raw.isdigit():
            raise DomainError("Choose the alert to mark read.", code="alert_required")
        marked = alerts_mark_read(user=request.user, alert_ids=[int(raw)])
    messages.success(request, f"{marked} alert{'s' if marked != 1 else ''} marked read.")
    return redirect(safe_next(request, reverse("alerts")))
