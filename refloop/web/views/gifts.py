"""The gift ledger's pages (/gifts/): the ledger per physician and year, planning and recording
forms with a split preview, compliance's approval queue, repayment cures, and the yearly limits.

Liaisons and compliance reviewers work here: physicians, office staff and amounts, never a
patient (DESIGN.md, Privacy). Figures come from refloop.gifts.queries; every write is one call to
refloop.gifts.services, whose DomainError is shown on the page it came from."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from refloop.core.errors import DomainError, NotAllowed
from refloop.directory.models import Clinician
from refloop.gifts import queries, services
from refloop.gifts.enums import Basis, CureState, GiftState, LimitKind
from refloop.gifts.models import Cure, GiftItem
from refloop.web.errors import domain_error_render
from refloop.web.forms_gifts import CancelForm, CureRepayForm, GiftForm, GiftLimitForm
from refloop.web.views import query_with, requires, safe_next

READERS = ("do_outreach", "approve_gifts")
ITEMS_PAGE_SIZE = 50


def _year(request) -> int:
    raw = request.GET.get("year", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else timezone.localdate().year


@requires(*READERS)
def gift_ledger(request):
    year = _year(request)
    limit, rows = queries.gift_ledger(year=year)
    context = {
        "year": year,
        "limit": limit,
        "rows": rows,
        "years": range(timezone.localdate().year + 1, 2019, -1),
        "over": sum(1 for r in rows if r.excess),
        "open_cures": sum(1 for r in rows if r.cure and r.cure.state == CureState.OPEN),
        "queued": GiftItem.objects.filter(state=GiftState.PLANNED).count(),
    }
    return render(request, "web/gifts/ledger.html", context)


@requires(*READERS)
def gift_physician(request, clinician_id: int):
    clinician = get_object_or_404(
        Clinician.objects.only("id", "first_name", "last_name", "credentials"), pk=clinician_id
    )
    year = _year(request)
    limit, rows = queries.gift_ledger(year=year, clinician_id=clinician.pk)
    context = {
        "clinician": clinician,
        "year": year,
        "limit": limit,
        "row": rows[0] if rows else None,
        "shares": list(queries.physician_gift_shares(clinician_id=clinician.pk, year=year)),
        "cures": list(queries.physician_cures(clinician_id=clinician.pk)),
    }
    return render(request, "web/gifts/physician.html", context)


@requires(*READERS)
def gift_items(request):
    year = _year(request)
    state = request.GET.get("state", "")
    rows = queries.gift_items(year=year, states=[state] if state in GiftState.values else None)
    page = Paginator(rows, ITEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "year": year,
        "state": state,
        "states": GiftState.choices,
        "page": page,
        "previous_query": query_with(request.GET, page=page.number - 1),
        "next_query": query_with(request.GET, page=page.number + 1),
    }
    return render(request, "web/gifts/items.html", context)


@requires(*READERS)
def gift_item(request, item_id: int):
    item = get_object_or_404(
        GiftItem.objects.select_related("recorded_by", "approved_by", "activity"), pk=item_id
    )
    context = {
        "item": item,
        "shares": list(item.shares.select_related("cure").order_by("-physician", "name", "id")),
        "log": queries.gift_log(item_id=item.pk),
        "cancel_form": CancelForm(),
    }
    return render(request, "web/gifts/item.html", context)


@requires("do_outreach")
def gift_new(request):
    """Plan a gift or record one given. 'Preview' shows the split and where each physician's
    year would stand, writing nothing."""
    record = request.GET.get("mode") == "record" or request.POST.get("mode") == "record"
    form = GiftForm(request.POST or None, initial={"date": timezone.localdate()})
    context = {"form": form, "record": record, "preview": None}
    if request.method != "POST" or not form.is_valid():
        return render(request, "web/gifts/new.html", context)
    args = form.service_args()
    try:
        if "preview" in request.POST:
            context["preview"] = _preview(args)
            return render(request, "web/gifts/new.html", context)
        save = services.gift_record if record else services.gift_plan
        item = save(**args, user=request.user)
    except DomainError as error:
        if args.get("clinician_ids") or args.get("activity_id") or args.get("others"):
            context["preview"] = _preview_or_none(args)
        return domain_error_render(request, error, "web/gifts/new.html", context)
    messages.success(
        request,
        "Recorded as given." if record else "Planned: it waits for compliance's approval.",
    )
    return redirect("gift_item", item_id=item.pk)


def _preview(args: dict) -> dict:
    if args["cash_equivalent"]:
        raise DomainError(services.CASH_REFUSED, code="cash")
    attendees = queries.attendees_resolve(
        activity_id=args["activity_id"], clinician_ids=args["clinician_ids"], others=args["others"]
    )
    if not attendees:
        raise DomainError("Name who received it: at least one clinician or person.")
    limit, rows = queries.gift_split_preview(
        total=args["total"], attendees=attendees, year=args["on"].year, basis=args["basis"]
    )
    return {
        "limit": limit,
        "rows": rows,
        "year": args["on"].year,
        "incidental": args["basis"] == Basis.INCIDENTAL,
    }


def _preview_or_none(args: dict) -> dict | None:
    try:
        return _preview(args)
    except DomainError:
        return None


@requires("approve_gifts")
def gift_approvals(request):
    return render(request, "web/gifts/approvals.html", {"queue": queries.gift_approval_queue()})


@require_POST
@requires("approve_gifts")
def gift_approve(request, item_id: int):
    item = get_object_or_404(GiftItem, pk=item_id)
    try:
        services.gift_approve(item=item, user=request.user)
    except DomainError as error:
        return domain_error_render(
            request, error, "web/gifts/approvals.html", {"queue": queries.gift_approval_queue()}
        )
    messages.success(request, f"Approved: {item.description}.")
    return redirect(safe_next(request, reverse("gift_approvals")))


@require_POST
@requires("do_outreach")
def gift_given(request, item_id: int):
    item = get_object_or_404(GiftItem, pk=item_id)
    raw = request.POST.get("on", "")
    try:
        on = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise DomainError(f"'{raw[:20]}' is not a date: give the day it was given.") from None
    services.gift_record_actual(item=item, user=request.user, on=on)
    messages.success(request, "Recorded as given.")
    return redirect("gift_item", item_id=item.pk)


@require_POST
@requires(*READERS)
def gift_cancel(request, item_id: int):
    item = get_object_or_404(GiftItem, pk=item_id)
    services.gift_cancel(item=item, user=request.user, reason=request.POST.get("reason", ""))
    messages.success(request, "Cancelled.")
    return redirect("gift_item", item_id=item.pk)


@requires(*READERS)
def gift_cures(request):
    rows = queries.cures_list()
    return render(
        request,
        "web/gifts/cures.html",
        {
            "cures": list(rows),
            "repay_form": CureRepayForm(initial={"repaid_on": timezone.localdate()}),
        },
    )


@require_POST
@requires("approve_gifts")
def gift_cure_repay(request, cure_id: int):
    cure = get_object_or_404(Cure, pk=cure_id)
    form = CureRepayForm(request.POST)
    if not form.is_valid():
        raise DomainError("Give the date repaid and the amount, like 10.00.", code="repay_form")
    services.cure_repay(
        cure=cure,
        repaid_on=form.cleaned_data["repaid_on"],
        amount=form.cleaned_data["amount"],
        user=request.user,
    )
    messages.success(request, "Repayment recorded: the cure is repaid.")
    return redirect("gift_cures")


@requires(*READERS)
def gift_limits(request):
    can_edit = request.user.has_perm("core.edit_gift_limits")
    form = GiftLimitForm(request.POST or None) if can_edit else None
    this_year = timezone.localdate().year
    context = {
        "limits": queries.gift_limits(),
        "form": form,
        "missing": queries.years_without_limit(years=[this_year - 1, this_year, this_year + 1]),
        "missing_incidental": queries.years_without_limit(
            years=[this_year], kind=LimitKind.INCIDENTAL_PER_OCCURRENCE
        ),
        "kinds": LimitKind,
    }
    if request.method == "POST":
        if not can_edit:
            raise NotAllowed("Only an admin enters the gift limits.")
        if form.is_valid():
            try:
                services.gift_limit_set(**form.cleaned_data, user=request.user)
            except DomainError as error:
                return domain_error_render(request, error, "web/gifts/limits.html", context)
            messages.success(request, "Limit saved.")
            return redirect("gift_limits")
    return render(request, "web/gifts/limits.html", context)
