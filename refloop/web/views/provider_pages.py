"""The staff list of provider pages: each service line's public page with its measured
turnaround, whether its access is held (waits over the target), and the approved text it shows.
Aggregates only: liaisons point referrers to these pages."""

from django.shortcuts import render

from refloop.portal.queries_provider import provider_pages_status
from refloop.web.views import requires


@requires("view_aggregates")
def provider_pages(request):
    return render(request, "web/provider_pages.html", {"pages": provider_pages_status()})
