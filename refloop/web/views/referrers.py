"""Referrer relationships (liaisons, managers: do_outreach): target lists, referrer and practice
profiles, office staff.

Every figure here is a stored standing (relations.services.standings_refresh, from analytics) or
a Wilson interval of two stored counts (analytics.metrics.stats): nothing is recomputed on page
load, and there is no patient and no referral list on any of these pages (DESIGN.md, Privacy).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from refloop.analytics import charts
from refloop.analytics.metrics.stats import wilson
from refloop.core.errors import DomainError, NotAllowed
from refloop.directory.models import Clinician, ClinicianRole, Organization
from refloop.relations.models import OfficeContact, ReferrerStanding, TargetList, Territory
from refloop.relations.queries import (
    Criteria,
    lists_visible,
    practice_territory,
    prospects_matching,
    standings_matching,
    touches_of,
)
from refloop.relations.services import (
    office_contact_create,
    office_contact_delete,
    office_contact_update,
    target_list_create,
    target_list_delete,
    target_list_update,
)
from refloop.web.forms_referrers import CriteriaForm, OfficeContactForm, SortForm, TargetListForm
from refloop.web.views import requires

PAGE_SIZE = 50
MEMBER_FIELDS = (
    "pk",
    "clinician_id",
    "organization_id",
    "name",
    "practice",
    "segment",
    "total",
    "recent_change",
    "monthly_change",
    "trend_p",
    "score",
    "drop_off",
    "days_since_last",
    "territory__name",
    "liaison__username",
    "liaison__first_name",
    "liaison__last_name",
)


# Members ----------------------------------------------------------------------------------


def _members(request, criteria: Criteria, *, base_query: dict) -> dict:
    """One page of a list's members: referrers (standings) or prospects (clinicians)."""
    sort = SortForm(request.GET).chosen()
    if criteria.not_yet_referring:
        rows = prospects_matching(criteria=criteria, viewer=request.user)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        practices = _practices_of([c.pk for c in page.object_list])
        return {
            "kind": "prospects",
            "page": page,
            "rows": [(c, practices.get(c.pk, [])) for c in page.object_list],
            **_pager(page, base_query),
        }
    rows = standings_matching(criteria=criteria, viewer=request.user, sort=sort)
    # The page's ids first, from the sort's index alone (a deep page of 50,000 stays quick),
    # then those 50 rows with their names.
    page = Paginator(rows.values_list("pk", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    found = {r["pk"]: r for r in ReferrerStanding.objects.filter(pk__in=ids).values(*MEMBER_FIELDS)}
    page.object_list = [found[pk] for pk in ids if pk in found]
    return {
        "kind": "referrers",
        "page": page,
        "sort": sort,
        "sorts": [
            (key, label, f"?{urlencode({**base_query, 'sort': key})}")
            for key, label in (("score", "Score"), ("total", "Total"), ("change", "Change"))
        ],
        **_pager(page, {**base_query, "sort": sort}),
    }


def _pager(page, query: dict) -> dict:
    def at(number):
        return f"?{urlencode({**query, 'page': number})}"

    return {
        "previous_url": at(page.number - 1) if page.has_previous() else None,
        "next_url": at(page.number + 1) if page.has_next() else None,
    }


def _practices_of(clinician_ids: list[int]) -> dict[int, list[dict]]:
    """The practices (and territory) of a page of prospects: one query."""
    found: dict[int, list[dict]] = {}
    for row in (
        ClinicianRole.objects.filter(clinician_id__in=clinician_ids, active=True)
        .order_by("pk")
        .values(
            "clinician_id",
            "organization_id",
            "organization__name",
            "organization__assignment__territory__name",
        )
    ):
        found.setdefault(row["clinician_id"], []).append(row)
    return found


def _criteria_query(request) -> dict:
    """The GET criteria, to carry across sorting and paging."""
    return {k: request.GET.getlist(k) for k in request.GET if k not in ("page", "sort")}


def _visible_list(request, pk: int) -> TargetList:
    found = lists_visible(user=request.user).filter(pk=pk).first()
    if found is None:  # someone else's private list looks like no list at all
        raise Http404("No such target list.")
    return found


# Pages -------------------------------------------------------------------------------------


@requires("do_outreach")
def home(request):
    """The lists the user can use, and an ad-hoc filter over the referrers."""
    form = CriteriaForm(request.GET or None)
    members = None
    if request.GET and form.is_valid():
        query = {k: v for k, v in _criteria_query(request).items()}
        members = _members(request, form.criteria(), base_query=query)
    context = {
        "lists": lists_visible(user=request.user),
        "form": form,
        "members": members,
        "save_query": urlencode(_criteria_query(request), doseq=True),
    }
    return render(request, "web/referrers/home.html", context)


@requires("do_outreach")
def list_detail(request, pk: int):
    target_list = _visible_list(request, pk)
    criteria = Criteria.from_json(target_list.criteria)
    context = {
        "target_list": target_list,
        "criteria": _criteria_text(criteria),
        "members": _members(request, criteria, base_query={}),
        "owner": target_list.owner_id == request.user.pk,
    }
    return render(request, "web/referrers/list.html", context)


def _criteria_text(criteria: Criteria) -> list[str]:
    parts = []
    if criteria.not_yet_referring:
        parts.append("not yet referring")
    if criteria.segments:
        parts.append("segments: " + ", ".join(criteria.segments))
    if criteria.lines:
        parts.append("service lines: " + ", ".join(criteria.lines))
    if criteria.mine:
        parts.append("my territories")
    if criteria.territory_id:
        territory = Territory.objects.filter(pk=criteria.territory_id).first()
        parts.append(f"territory {territory.name if territory else '(removed)'}")
    if criteria.specialty:
        parts.append(f"specialty: {criteria.specialty}")
    if criteria.min_total:
        parts.append(f"at least {criteria.min_total} referrals")
    if criteria.drop_off:
        parts.append("drop-off alert")
    return parts or ["every referrer"]


@requires("do_outreach")
def list_new(request):
    if request.method == "POST":
        form = TargetListForm(request.POST)
        if form.is_valid():
            try:
                created = target_list_create(
                    owner=request.user,
                    name=form.cleaned_data["name"],
                    criteria=form.criteria(),
                    shared=form.cleaned_data["shared"],
                )
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Saved “{created.name}”.")
                return redirect("referrers_list", pk=created.pk)
    else:
        prefill = CriteriaForm(request.GET or None)
        initial = CriteriaForm.initial_of(prefill.criteria()) if prefill.is_valid() else {}
        form = TargetListForm(initial=initial)
    return render(request, "web/referrers/list_form.html", {"form": form, "target_list": None})


@requires("do_outreach")
def list_edit(request, pk: int):
    target_list = _visible_list(request, pk)
    if target_list.owner_id != request.user.pk:
        raise PermissionDenied("Only the list's owner can change it.")
    if request.method == "POST":
        form = TargetListForm(request.POST)
        if form.is_valid():
            try:
                target_list_update(
                    target_list=target_list,
                    user=request.user,
                    name=form.cleaned_data["name"],
                    criteria=form.criteria(),
                    shared=form.cleaned_data["shared"],
                )
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "List saved.")
                return redirect("referrers_list", pk=target_list.pk)
    else:
        initial = CriteriaForm.initial_of(Criteria.from_json(target_list.criteria))
        form = TargetListForm(
            initial={**initial, "name": target_list.name, "shared": target_list.shared}
        )
    context = {"form": form, "target_list": target_list}
    return render(request, "web/referrers/list_form.html", context)


@requires("do_outreach")
@require_POST
def list_delete(request, pk: int):
    target_list = _visible_list(request, pk)
    try:
        target_list_delete(target_list=target_list, user=request.user)
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("referrers_list", pk=target_list.pk)
    messages.success(request, f"Deleted “{target_list.name}”.")
    return redirect("referrers")


# Profiles ----------------------------------------------------------------------------------


def _figures(standing: ReferrerStanding | None) -> dict | None:
    """What a profile shows of a standing: the stored figures, the chart of its months."""
    if standing is None:
        return None
    months = [(m, n) for m, n in standing.monthly]
    scene = charts.trend_chart(
        [m for m, _ in months],
        [charts.Series("Referrals", [n for _, n in months])],
        title="Referrals per month, last 24 months",
        key=f"standing-{standing.pk}",
    )
    return {
        "standing": standing,
        "svg": mark_safe(scene.svg()),  # the scene escapes every text it writes
        "months": months,
        "conversion": wilson(standing.seen, standing.total),
        "alert": standing.drop_off_detail,
    }


@requires("do_outreach")
def clinician_profile(request, pk: int):
    clinician = get_object_or_404(Clinician, pk=pk)
    standing = (
        ReferrerStanding.objects.filter(clinician=clinician)
        .select_related("territory", "liaison", "organization")
        .order_by("-total")
        .first()
    )
    roles = list(clinician.roles.filter(active=True).select_related("organization").order_by("pk"))
    org_ids = [r.organization_id for r in roles]
    territory = standing.territory if standing and standing.territory else None
    if territory is None and org_ids:
        territory = practice_territory(organization_id=org_ids[0])
    context = {
        "clinician": clinician,
        "roles": roles,
        "territory": territory,
        "figures": _figures(standing),
        "contacts": OfficeContact.objects.filter(organization_id__in=org_ids).select_related(
            "organization"
        ),
        "touches": touches_of(clinician_ids=[clinician.pk]),
    }
    return render(request, "web/referrers/clinician.html", context)


@requires("do_outreach")
def practice_profile(request, pk: int):
    organization = get_object_or_404(Organization, pk=pk)
    people = list(
        ClinicianRole.objects.filter(organization=organization, active=True)
        .select_related("clinician")
        .order_by("clinician__last_name", "clinician__first_name")
    )
    standings = {
        s.clinician_id: s
        for s in ReferrerStanding.objects.filter(
            clinician_id__in=[p.clinician_id for p in people]
        ).order_by("total")
    }
    context = {
        "organization": organization,
        "territory": practice_territory(organization_id=organization.pk),
        "people": [(p.clinician, standings.get(p.clinician_id)) for p in people],
        "summary": _practice_summary(organization, list(standings.values())),
        "contacts": organization.office_contacts.all(),
        "contact_form": OfficeContactForm(),
        "touches": touches_of(
            clinician_ids=[p.clinician_id for p in people], organization_id=organization.pk
        ),
    }
    return render(request, "web/referrers/practice.html", context)


def _practice_summary(organization, standings: list[ReferrerStanding]) -> dict | None:
    """The practice's clinicians' stored counts added up: referrals per month, seen, reports
    and acknowledgements judged and met (medians do not add up: they stay per clinician)."""
    mine = [s for s in standings if s.organization_id in (organization.pk, None)]
    if not mine:
        return None
    months = [m for m, _ in mine[0].monthly]
    counts = [sum(s.monthly[i][1] for s in mine) for i in range(len(months))]
    total, seen = sum(s.total for s in mine), sum(s.seen for s in mine)
    ack_judged = sum(s.ack_judged for s in mine)
    ack_met = sum(round((s.ack_within_target or 0) * s.ack_judged) for s in mine)
    reports_judged = sum(s.reports_judged for s in mine)
    reports_met = sum(round((s.reports_on_time or 0) * s.reports_judged) for s in mine)
    scene = charts.trend_chart(
        months,
        [charts.Series("Referrals", counts)],
        title="Referrals per month from the practice's clinicians",
        key=f"practice-{organization.pk}",
    )
    segments: dict[str, int] = {}
    for s in mine:
        segments[s.segment] = segments.get(s.segment, 0) + 1
    lines: dict[str, int] = {}
    for s in mine:
        for name, n in s.lines:
            lines[name] = lines.get(name, 0) + n
    return {
        "svg": mark_safe(scene.svg()),
        "months": list(zip(months, counts, strict=True)),
        "total": total,
        "conversion": wilson(seen, total),
        "ack": wilson(ack_met, ack_judged),
        "ack_judged": ack_judged,
        "reports": wilson(reports_met, reports_judged),
        "reports_judged": reports_judged,
        "segments": sorted(segments.items()),
        "lines": sorted(lines.items(), key=lambda item: (-item[1], item[0])),
        "drop_offs": sum(1 for s in mine if s.drop_off),
    }


# Office staff ------------------------------------------------------------------------------


@requires("do_outreach")
@require_POST
def contact_new(request, pk: int):
    organization = get_object_or_404(Organization, pk=pk)
    form = OfficeContactForm(request.POST)
    if form.is_valid():
        try:
            office_contact_create(organization=organization, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Added {form.cleaned_data['name']}.")
            return redirect("referrers_practice", pk=organization.pk)
    return render(
        request,
        "web/referrers/contact_form.html",
        {"form": form, "organization": organization, "contact": None},
        status=400,
    )


@requires("do_outreach")
def contact_edit(request, pk: int, contact_id: int):
    contact = get_object_or_404(OfficeContact, pk=contact_id, organization_id=pk)
    if request.method == "POST":
        form = OfficeContactForm(request.POST)
        if form.is_valid():
            office_contact_update(contact=contact, **form.cleaned_data)
            messages.success(request, "Contact saved.")
            return redirect("referrers_practice", pk=pk)
    else:
        form = OfficeContactForm(
            initial={
                "name": contact.name,
                "role": contact.role,
                "email": contact.email,
                "phone": contact.phone,
            }
        )
    context = {"form": form, "organization": contact.organization, "contact": contact}
    return render(request, "web/referrers/contact_form.html", context)


@requires("do_outreach")
@require_POST
def contact_delete(request, pk: int, contact_id: int):
    contact = get_object_or_404(OfficeContact, pk=contact_id, organization_id=pk)
    office_contact_delete(contact=contact)
    messages.success(request, f"Removed {contact.name}.")
    return redirect(reverse("referrers_practice", kwargs={"pk": pk}))
