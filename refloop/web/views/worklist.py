"""The worklist (open referrals, most urgent first), bulk reassignment, and search."""

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from refloop.core.access_log import access_log_write_many
from refloop.core.models import AccessLogEntry
from refloop.core.queries import people_who_see_phi
from refloop.referrals.enums import OPEN_STATES, State
from refloop.referrals.queries import referral_search, worklist_page
from refloop.referrals.services import referral_assign
from refloop.web.forms import AssignForm, SearchForm, WorklistFilterForm
from refloop.web.views import landing_url, requires, safe_next
from refloop.web.views import query_with as _query


def worklist(request):
    # "/" is where signing in lands by default: people whose work is aggregates (liaisons,
    # compliance) go to their own first page instead of a 403.
    user = request.user
    aggregates_only = user.has_perm("core.view_aggregates") and not user.has_perm("core.view_phi")
    if user.is_authenticated and aggregates_only:
        return redirect(landing_url(user))
    return _worklist(request)


@requires("view_phi")
def _worklist(request):
    people = list(people_who_see_phi())
    form = WorklistFilterForm(request.GET or None, user=request.user, people=people)
    page = worklist_page(filters=form.filters(), page=form.page_number())
    # The rows show patients' names: a person listing them is a read of each.
    access_log_write_many(
        request=request,
        action=AccessLogEntry.Action.LIST,
        object_type="referral",
        rows=[(r.pk, r.patient_id) for r in page.rows],
    )
    params = request.GET
    state_tabs = [
        {
            "state": state,
            "count": page.counts[state],
            "query": _query(params, state=state, page=None),
            "active": params.get("state") == state,
        }
        for state in State
        if state in OPEN_STATES
    ]
    lines = list(form.fields["line"].queryset)
    context = {
        "form": form,
        "page": page,
        "state_tabs": state_tabs,
        "all_states_query": _query(params, state=None, page=None),
        "previous_query": _query(params, page=page.number - 1),
        "next_query": _query(params, page=page.number + 1),
        "queues": _queues(params, lines),
        "people": people,
        "can_assign": request.user.has_perm("core.assign_referral"),
        "here": request.get_full_path(),
    }
    return render(request, "web/worklist.html", context)


def _queues(params, lines):
    """ "My work", the unassigned pile and each service line's team queue."""
    shown = {k: v for k, v in params.items() if k != "page" and v}
    queues = [("My work", {"assignee": "me"}), ("Unassigned", {"assignee": "none"})]
    queues += [(line.name, {"line": str(line.pk)}) for line in lines]
    return [
        {"label": label, "query": _query(QueryDict(), **wanted), "active": shown == wanted}
        for label, wanted in queues
    ]


@require_POST
@requires("assign_referral")
def worklist_assign(request):
    back = safe_next(request, reverse("worklist"))
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "Choose whom to assign.")
        return redirect(back)
    take = form.cleaned_data.get("take")
    ids = [take] if take else form.cleaned_data["referral"]
    assignee = request.user if take else form.cleaned_data.get("assignee")
    changed = referral_assign(referral_ids=ids, assignee=assignee, actor=request.user)
    messages.success(request, f"{changed} referral{'s' if changed != 1 else ''} reassigned.")
    return redirect(back)


@requires("view_phi")
def search(request):
    """POST only for the criteria: names and dates of birth stay out of URLs and server logs."""
    form = SearchForm(request.POST if request.method == "POST" else None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = referral_search(criteria=form.criteria())
        access_log_write_many(
            request=request,
            action=AccessLogEntry.Action.SEARCH,
            object_type="referral",
            rows=[(r.pk, r.patient_id) for r in results],
        )
    return render(request, "web/search.html", {"form": form, "results": results})
