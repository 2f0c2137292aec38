"""The monthly review button: the review of a month as a PDF (or HTML), for managers.

Aggregates only, but the whole program's: practice managers and admins (view_phi together with
view_aggregates), not liaisons, who see referrer-level counts on their own pages."""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils import timezone

from refloop.analytics.review import review_html, review_pdf
from refloop.analytics.review_services import review_month
from refloop.analytics.scope import month_before
from refloop.web.forms_dashboards import MONTH_YEARS
from refloop.web.views import requires


@requires("view_aggregates")
def monthly_review(request):
    if not request.user.has_perm("core.view_phi"):
        raise PermissionDenied("The monthly review is for practice managers.")
    month = _month(request.GET.get("month", ""))
    review = review_month(month=month)
    if request.GET.get("format") == "html":
        return HttpResponse(review_html(review))
    response = HttpResponse(review_pdf(review), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="review-{month:%Y-%m}.pdf"'
    return response


def _month(text: str) -> dt.date:
    if not text:
        return month_before(timezone.localdate())
    try:
        month = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise Http404("No such month.") from None
    if not MONTH_YEARS[0] <= month.year <= MONTH_YEARS[1]:
        raise Http404("No such month.")
    return month
