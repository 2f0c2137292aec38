"""Campaign pages: the list, a draft's form, one campaign (preview, schedule, results, audit
trail) and the managers' queue of campaigns held for access. Referrers and their offices only:
no patient appears on any of them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from refloop.campaigns.compose import Personal, campaign_compose, personal_of, tracking_on
from refloop.campaigns.enums import EDITABLE_STATES, CampaignState
from refloop.campaigns.queries import (
    campaign_counts,
    campaign_events,
    campaign_failures,
    campaign_fields,
    campaign_get,
    campaign_list,
    campaigns_held,
    liaison_names,
)
from refloop.campaigns.services import (
    campaign_audience,
    campaign_cancel,
    campaign_create,
    campaign_hold_decide,
    campaign_may_change,
    campaign_schedule,
    campaign_unschedule,
    campaign_update,
    content_version_for,
)
from refloop.core.errors import DomainError
from refloop.directory.models import Clinician, Organization
from refloop.web.errors import domain_error_render
from refloop.web.forms_campaigns import CampaignForm, HoldDecisionForm
from refloop.web.views import requires

LIST_LIMIT = 200


def _campaign_or_404(campaign_id: int):
    campaign = campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


@requires("do_outreach")
def campaigns(request):
    rows = list(campaign_list(state=request.GET.get("state") or None)[:LIST_LIMIT])
    context = {
        "campaigns": rows,
        "states": CampaignState.choices,
        "state": request.GET.get("state", ""),
        "held_count": campaigns_held().count()
        if request.user.has_perm("core.decide_access_hold")
        else 0,
    }
    return render(request, "web/campaigns/list.html", context)


@requires("do_outreach")
def campaign_new(request):
    initial = {
        "sender_name": settings.REFLOOP_PRACTICE_NAME,
        "sender_address": settings.DEFAULT_FROM_EMAIL,
    }
    form = CampaignForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(user=request.user, **form.values())
        except DomainError as error:
            return domain_error_render(request, error, "web/campaigns/form.html", {"form": form})
        messages.success(request, "Draft saved. Check the preview, then schedule it.")
        return redirect("campaign_detail", campaign.pk)
    return render(request, "web/campaigns/form.html", {"form": form})


@requires("do_outreach")
def campaign_edit(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    if not campaign_may_change(user=request.user, campaign=campaign):
        messages.error(request, "Only the campaign's author or a manager can change it.")
        return redirect("campaign_detail", campaign.pk)
    if campaign.state not in EDITABLE_STATES:
        messages.error(request, "Only a draft can be changed: put it back to draft first.")
        return redirect("campaign_detail", campaign.pk)
    initial = {
        "name": campaign.name,
        "target_list": campaign.target_list_id,
        "content_item": campaign.content_item_id,
        "service_line": campaign.service_line_id,
        "sender_name": campaign.sender_name,
        "sender_address": campaign.sender_address,
        "scheduled_at": timezone.localtime(campaign.scheduled_at)
        if campaign.scheduled_at
        else None,
        "tracking_allowed": campaign.tracking_allowed,
    }
    form = CampaignForm(request.POST or None, initial=initial, user=request.user)
    context = {"form": form, "campaign": campaign}
    if request.method == "POST" and form.is_valid():
        try:
            campaign_update(campaign=campaign, user=request.user, **form.values())
        except DomainError as error:
            return domain_error_render(request, error, "web/campaigns/form.html", context)
        messages.success(request, "Draft saved.")
        return redirect("campaign_detail", campaign.pk)
    return render(request, "web/campaigns/form.html", context)


@requires("do_outreach")
def campaign_detail(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    started = campaign.started_at is not None
    context = {
        "campaign": campaign,
        "editable": campaign.state in EDITABLE_STATES
        and campaign_may_change(user=request.user, campaign=campaign),
        "counts": campaign_counts(campaign_id=campaign.pk) if started else None,
        "tracked": tracking_on(campaign),
        "failures": list(campaign_failures(campaign_id=campaign.pk)) if started else [],
        "events": list(campaign_events(campaign_id=campaign.pk)),
        "can_decide": request.user.has_perm("core.decide_access_hold"),
        "decision_form": HoldDecisionForm(),
    }
    return render(request, "web/campaigns/detail.html", context)


@requires("do_outreach")
def campaign_preview(request, campaign_id: int):
    """The message as one recipient of the list would get it (the n-th, `?r=`)."""
    campaign = _campaign_or_404(campaign_id)
    if not (
        campaign.target_list.shared
        or campaign.target_list.owner_id == request.user.pk
        or campaign_may_change(user=request.user, campaign=campaign)
    ):
        # Its audience is someone else's private list: its members are not shown.
        raise Http404("No such campaign.")
    day = timezone.localdate(campaign.scheduled_at or timezone.now())
    context = {"campaign": campaign}
    try:
        version = campaign.content_version or content_version_for(campaign=campaign, day=day)
    except DomainError as error:
        return domain_error_render(request, error, "web/campaigns/preview.html", context)
    audience = campaign_audience(campaign=campaign)
    raw = request.GET.get("r", "0")
    index = min(int(raw), max(len(audience) - 1, 0)) if raw.isdigit() else 0
    person = audience[index] if audience else None
    personal = _personal(campaign, person)
    composed = campaign_compose(
        campaign=_with_version(campaign, version),
        version=version,
        token="preview",
        personal=personal,
    )
    context.update(
        {
            "version": version,
            "composed": composed,
            "list_unsubscribe": composed.headers["List-Unsubscribe"],
            "person": person,
            "index": index,
            "audience_size": len(audience),
            "previous": index - 1 if index > 0 else None,
            "next": index + 1 if index + 1 < len(audience) else None,
        }
    )
    return render(request, "web/campaigns/preview.html", context)


def _with_version(campaign, version):
    campaign.content_version = version  # not saved: the preview shows what would go out
    return campaign


def _personal(campaign, person) -> Personal:
    shared = campaign_fields(campaign=campaign)
    if person is None:
        return personal_of(name="", **shared)
    clinician = None
    if person.clinician_id is not None:
        clinician = Clinician.objects.filter(pk=person.clinician_id).first()
    practice_name = ""
    organization_id = person.organization_id
    if organization_id is not None:
        organization = Organization.objects.filter(pk=organization_id)
        practice_name = organization.values_list("name", flat=True).first() or ""
        liaison = liaison_names(organization_ids=[organization_id]).get(organization_id)
        shared["liaison_name"] = liaison or shared["liaison_name"]
    return personal_of(name=person.name, clinician=clinician, practice_name=practice_name, **shared)


def _act(request, campaign_id: int, action, done: str):
    campaign = _campaign_or_404(campaign_id)
    try:
        action(campaign)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done.format(state=campaign.get_state_display().lower()))
    return redirect("campaign_detail", campaign_id)


@require_POST
@requires("do_outreach")
def campaign_schedule_view(request, campaign_id: int):
    return _act(
        request,
        campaign_id,
        lambda c: campaign_schedule(campaign=c, user=request.user),
        "The campaign is {state}.",
    )


@require_POST
@requires("do_outreach")
def campaign_unschedule_view(request, campaign_id: int):
    return _act(
        request,
        campaign_id,
        lambda c: campaign_unschedule(campaign=c, user=request.user),
        "Back to draft.",
    )


@require_POST
@requires("do_outreach")
def campaign_cancel_view(request, campaign_id: int):
    reason = request.POST.get("reason", "")
    return _act(
        request,
        campaign_id,
        lambda c: campaign_cancel(campaign=c, user=request.user, reason=reason),
        "The campaign is cancelled.",
    )


@requires("decide_access_hold")
def campaigns_held_queue(request):
    rows = list(campaigns_held()[:LIST_LIMIT])
    return render(
        request,
        "web/campaigns/held.html",
        {"campaigns": rows, "decision_form": HoldDecisionForm()},
    )


@require_POST
@requires("decide_access_hold")
def campaign_hold_decide_view(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    form = HoldDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose release or keep, and say why.")
    else:
        try:
            campaign_hold_decide(
                campaign=campaign,
                user=request.user,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"“{campaign.name}”: {campaign.get_hold_decision_display()}.")
    if request.POST.get("back") == "detail":
        return redirect("campaign_detail", campaign.pk)
    return redirect("campaigns_held")
