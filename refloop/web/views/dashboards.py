"""Dashboards: the program's and each service line's numbers as pictures (managers), the
referrers' monthly counts and rates (liaisons too), and the referrals behind a number.

Every page reads the fact table once per request (`_facts`) and hands it to the metrics; nothing
here computes a number of its own. A number carries a Drill; for people who may see referrals
(`view_phi`) it links to the drill-down page, which asks the same cohort for its rows, so the list
is exactly the number. Liaisons and compliance reviewers get no link and a 403 on the list.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from refloop.analytics.appointments import appointments_frame, tna_frame
from refloop.analytics.cohorts import COHORTS, Drill, cohort_select
from refloop.analytics.queries import facts_frame, outbound_frame
from refloop.analytics.scope import Scope, month_before
from refloop.core.access_log import access_log_write_many
from refloop.core.models import AccessLogEntry
from refloop.directory.enums import TargetUnit
from refloop.directory.models import ResponseTarget, ServiceLine
from refloop.referrals.models import Referral
from refloop.web.forms_dashboards import DashboardFilterForm, Filters
from refloop.web.views import requires
from refloop.web.views.dashboard_parts import (
    access_part,
    bottlenecks_part,
    cohort_title,
    communication_part,
    cycle_part,
    funnel_part,
    headline_part,
    leakage_part,
    referrers_part,
    trend_part,
)

DRILL_PAGE_SIZE = 50
REFERRER_PAGE_SIZE = 50
# What the referrers' metric reads (metrics.referrers), the filters and the drill-down's ids.
REFERRER_COLUMNS = (
    "referral_id",
    "service_line",
    "priority",
    "channel",
    "referrer_key",
    "referrer_name",
    "practice",
    "received_at",
    "seen_at",
)
REFERRER_PANELS = 24  # small multiples: the largest referrers, and every one with an alert


def can_drill(user) -> bool:
    """Lists of referrals are for people who see PHI and the program's numbers (managers)."""
    return user.has_perm("core.view_phi") and user.has_perm("core.view_aggregates")


def _facts(request, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    """The fact table, read once per request: every number on the page comes from this frame.
    `columns`: only those (a page whose metrics need few of them reads less)."""
    if not hasattr(request, "_refloop_facts"):
        request._refloop_facts = facts_frame(columns=columns)
    return request._refloop_facts


def _appointments(request, scope: Scope) -> pl.DataFrame:
    """The appointments starting in the period (no-show rates), read once per request."""
    if not hasattr(request, "_refloop_appointments"):
        request._refloop_appointments = appointments_frame(
            start=scope.moment(scope.start), end=scope.moment(scope.end)
        )
    return request._refloop_appointments


def _targets(filters: Filters) -> dict[str, float]:
    """The line's targets in hours for the chosen priority: a target is one line's and one
    priority's, so only then can it be drawn on a chart."""
    if not (filters.line and filters.priority):
        return {}
    rows = ResponseTarget.objects.filter(
        service_line__code=filters.line, priority=filters.priority, unit=TargetUnit.BUSINESS_HOURS
    ).values_list("kind", "amount")
    return {kind: float(amount) for kind, amount in rows}


def _practices(facts: pl.DataFrame) -> list[str]:
    return facts.get_column("practice").drop_nulls().unique().sort().to_list()


def _filters(request, facts: pl.DataFrame, *, line="") -> tuple[DashboardFilterForm, Filters]:
    form = DashboardFilterForm(request.GET or None, practices=_practices(facts), fixed_line=line)
    return form, form.filters()


def drill_link(request, filters: Filters):
    """Turns a chart's or a table's Drill (optionally (drill, month)) into the drill-down URL;
    None for people who may not list referrals, so their pages carry no link at all."""
    if not can_drill(request.user):
        return None
    base = reverse("dashboard_drill")

    def link(target) -> str | None:
        if target is None:
            return None
        drill, month = target if isinstance(target, tuple) else (target, None)
        chosen = filters.at(month) if month else filters
        return f"{base}?{chosen.query(cohort=drill.cohort, arg=drill.arg)}"

    return link


# Pages ----------------------------------------------------------------------------------------


@requires("view_aggregates")
def program(request):
    if not request.user.has_perm("core.view_phi"):
        # Liaisons and compliance reviewers work on referrers' counts and rates only.
        return redirect(f"{reverse('dashboard_referrers')}?{request.GET.urlencode()}")
    return _dashboard(request, line=None)


@requires("view_aggregates")
def line(request, code: str):
    if not request.user.has_perm("core.view_phi"):
        return redirect(f"{reverse('dashboard_referrers')}?{request.GET.urlencode()}")
    return _dashboard(request, line=get_object_or_404(ServiceLine, code=code))


def _dashboard(request, *, line: ServiceLine | None):
    facts = _facts(request)
    form, filters = _filters(request, facts, line=line.code if line else "")
    scope = filters.scope()
    link = drill_link(request, filters)
    previous = scope.shifted(start=month_before(scope.start), end=scope.start)
    context = {
        "line": line,
        "form": form,
        "filters": filters,
        "scope": scope,
        "headline": headline_part(facts, scope, previous=previous, link=link),
        "funnel": funnel_part(facts, scope, link=link),
        "cycle": cycle_part(
            facts, scope, link=link, chosen=request.GET.get("step", ""), targets=_targets(filters)
        ),
        "communication": communication_part(
            facts, scope, link=link, whole_program=filters.whole_program
        ),
        "access": access_part(
            facts,
            scope,
            appointments=_appointments(request, scope),
            tna=tna_frame(start=scope.start, end=scope.end),
            link=link,
        ),
        "leakage": leakage_part(facts, scope, link=link, outbound=outbound_frame()),
        "bottlenecks": bottlenecks_part(facts, scope, link=link),
        "trend": trend_part(facts, scope, link=link),
        "referrers": referrers_part(facts, scope, link=link, panels=8),
        "lines": sorted(form.line_values.items(), key=lambda item: item[1]),
        "query": filters.query(),
        "tabs_query": filters.any_line().query(),  # the tabs choose the line themselves
    }
    return render(request, "web/dashboards/program.html", context)


@requires("view_aggregates")
def referrers(request):
    """Referrer-level monthly counts and rates, segments and drop-off alerts: what a liaison sees
    (no patient, no referral list; managers also get links to the referrals)."""
    facts = _facts(request, columns=REFERRER_COLUMNS)
    form, filters = _filters(request, facts)
    scope = filters.scope()
    link = drill_link(request, filters)
    part = referrers_part(facts, scope, link=link, panels=REFERRER_PANELS)
    page = Paginator(part["rows"], REFERRER_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "filters": filters,
        "scope": scope,
        "referrers": part,
        "page": page,
        "can_drill": link is not None,
        "query": filters.query(),
        "previous_query": filters.query(page=page.number - 1),
        "next_query": filters.query(page=page.number + 1),
    }
    return render(request, "web/dashboards/referrers.html", context)


@requires("view_phi")
def drill(request):
    """The referrals behind one number: the same cohort, the same filters, paged; each listed
    referral is written to the access log."""
    if not can_drill(request.user):
        raise PermissionDenied("Your role does not give access to this page.")
    name, arg = request.GET.get("cohort", ""), request.GET.get("arg", "")
    if name not in COHORTS:
        raise Http404("No such group of referrals.")
    facts = _facts(request)
    form, filters = _filters(request, facts)
    scope = filters.scope()
    if name == "access.no_shows":  # missed visits are in the appointments, not the facts
        scope = replace(scope, extra={"appointments": _appointments(request, scope)})
    try:
        rows = cohort_select(facts, scope, Drill(name, arg))
    except (
        LookupError,
        ValueError,
        ArithmeticError,
        StopIteration,
        pl.exceptions.PolarsError,
    ) as error:
        # an argument the cohort does not know (a hand-edited link)
        raise Http404("No such group of referrals.") from error
    ids = rows.sort("received_at", "referral_id", descending=True).get_column("referral_id")
    page = Paginator(ids.to_list(), DRILL_PAGE_SIZE).get_page(request.GET.get("page"))
    referrals = _referrals(list(page.object_list))
    access_log_write_many(
        request=request,
        action=AccessLogEntry.Action.LIST,
        object_type="referral",
        rows=[(r.pk, r.patient_id) for r in referrals],
    )
    context = {
        "title": cohort_title(Drill(name, arg)),
        "filters": filters,
        "scope": scope,
        "page": page,
        "referrals": referrals,
        "total": rows.height,
        "back": f"{reverse('dashboards')}?{filters.query()}",
        "previous_query": filters.query(cohort=name, arg=arg, page=page.number - 1),
        "next_query": filters.query(cohort=name, arg=arg, page=page.number + 1),
    }
    return render(request, "web/dashboards/drill.html", context)


def _referrals(ids: list[int]) -> list[Referral]:
    """The page's referrals in the order of `ids` (newest first), in one query."""
    found = (
        Referral.objects.filter(pk__in=ids)
        .select_related("patient", "service_line", "referring_organization")
        .only(
            "id",
            "received_at",
            "state",
            "priority",
            "channel",
            "referrer_as_given",
            "patient__first_name",
            "patient__last_name",
            "service_line__name",
            "referring_organization__name",
        )
    )
    by_id = {r.pk: r for r in found}
    return [by_id[i] for i in ids if i in by_id]
