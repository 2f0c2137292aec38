"""Pages for oversight: the access log (managers) and the program's aggregates."""

from django.core.paginator import Paginator
from django.shortcuts import render

from refloop.core.queries import access_log_search
from refloop.referrals.queries import program_monthly_counts
from refloop.web.forms import AccessLogFilterForm
from refloop.web.views import query_with as _query
from refloop.web.views import requires

ACCESS_LOG_PAGE_SIZE = 50


@requires("view_access_log")
def access_log(request):
    form = AccessLogFilterForm(request.GET or None)
    rows = access_log_search(criteria=form.criteria()).only(
        "id",
        "at",
        "username",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "ip_address",
        "path",
    )
    page = Paginator(rows, ACCESS_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "previous_query": _query(request.GET, page=page.number - 1),
        "next_query": _query(request.GET, page=page.number + 1),
    }
    return render(request, "web/access_log.html", context)


@requires("view_aggregates")
def program_overview(request):
    """Counts only: no patient, no referral list (liaison and compliance land here)."""
    return render(request, "web/program.html", {"program": program_monthly_counts()})
