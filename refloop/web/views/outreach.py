"""Outreach pages: a liaison's week (usable on a phone), activities (plan, edit, log, cancel),
events (invite a target list, registrations), follow-ups, and the effect of outreach.

Liaisons see referrers and their offices, monthly counts and rates; never a patient or a referral
(DESIGN.md, Privacy). Every figure of the effect page comes from analytics (facts_frame and
metrics.outreach_effect)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from refloop.analytics.metrics.outreach_effect import (
    BAND_LABELS,
    DEFAULT_MONTHS,
    effect_words,
    months_shift,
    outreach_effect,
)
from refloop.analytics.queries import facts_frame
from refloop.analytics.scope import month_before
from refloop.core.errors import DomainError
from refloop.outreach.enums import EVENT_KINDS, ActivityStatus
from refloop.outreach.models import Activity, FollowUp
from refloop.outreach.queries import activity_detail, activity_touches, liaison_week, liaisons
from refloop.outreach.services import (
    LOG_AHEAD,
    LogEntry,
    activity_cancel,
    activity_edit,
    activity_log,
    activity_plan,
    activity_record,
    followup_done,
)
from refloop.outreach.services.events import event_invite
from refloop.web.errors import domain_error_render
from refloop.web.forms_outreach import (
    ActivityForm,
    CancelForm,
    EffectForm,
    InviteForm,
    LogForm,
    QuickVisitForm,
)
from refloop.web.views import requires, safe_next

EFFECT_COLUMNS = ("referrer_key", "received_at", "seen_at")


def _oversees(user) -> bool:
    """Managers and admins (outreach and PHI: the services' rule by role, read here from the
    permissions the page has loaded anyway)."""
    return user.has_perm("core.do_outreach") and user.has_perm("core.view_phi")


def _liaison_shown(request):
    """Whose week: one's own; a manager may look at a liaison's (?liaison=<id>)."""
    chosen = request.GET.get("liaison")
    if chosen and _oversees(request.user):
        user = get_user_model().objects.filter(pk=chosen if chosen.isdigit() else 0).first()
        if user is None:
            raise Http404("No such liaison.")
        return user
    return request.user


def _day(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@requires("do_outreach")
def week(request):
    """This week's planned and done activities, the tasks due (drop-off alerts with their monthly
    figures), and a quick form to log a visit."""
    liaison = _liaison_shown(request)
    shown = liaison_week(liaison=liaison, day=_day(request.GET.get("week")))
    form = QuickVisitForm(user=request.user)
    return render(request, "web/outreach/week.html", _week_context(request, liaison, shown, form))


MONTHS_SHOWN = 6  # a drop-off task shows the referrer's last six months


def _task_rows(tasks: list[FollowUp]) -> list[dict]:
    """Each open task with the monthly counts analytics computed (drop-off alerts), as bars."""
    today = timezone.localdate()
    rows = []
    for task in tasks:
        monthly = (task.figures or {}).get("monthly") or []
        shown = [(dt.date.fromisoformat(m), n) for m, n in monthly[-MONTHS_SHOWN:]]
        top = max((n for _, n in shown), default=0) or 1
        bars = [{"month": m, "count": n, "height": round(100 * n / top)} for m, n in shown]
        rows.append({"task": task, "overdue": task.due_on < today, "bars": bars})
    return rows


def _week_context(request, liaison, shown, form) -> dict:
    return {
        "week": shown,
        "tasks": _task_rows(shown.due),
        "liaison": liaison,
        "own": liaison.pk == request.user.pk,
        "liaisons": list(liaisons()) if _oversees(request.user) else [],
        "form": form,
        "today": timezone.localdate(),
        "log_until": timezone.now() + LOG_AHEAD,
        "sunday": shown.monday + dt.timedelta(days=6),
    }


@requires("do_outreach")
@require_POST
def visit_log(request):
    form = QuickVisitForm(request.POST, user=request.user)
    shown = liaison_week(liaison=request.user, day=timezone.localdate())
    context = _week_context(request, request.user, shown, form)
    if not form.is_valid():
        return render(request, "web/outreach/week.html", context, status=400)
    try:
        activity = activity_record(
            liaison=request.user, draft=form.draft(), by=request.user, follow_ups=form.follow_ups()
        )
    except DomainError as error:
        return domain_error_render(request, error, "web/outreach/week.html", context)
    messages.success(request, f"Logged: {activity.title}.")
    return redirect("outreach_week")


def _activity(request, pk: int) -> Activity:
    try:
        activity = activity_detail(pk=pk)
    except Activity.DoesNotExist as error:
        raise Http404("No such activity.") from error
    if activity.liaison_id != request.user.pk and not _oversees(request.user):
        raise PermissionDenied("This is another liaison's activity.")
    return activity


@requires("do_outreach")
def activity_new(request):
    form = ActivityForm(request.POST or None, user=request.user, initial=_new_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            activity = activity_plan(liaison=request.user, draft=form.draft(), by=request.user)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Planned: {activity.title}.")
            return redirect("outreach_activity", pk=activity.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": "Plan an activity"}
    return render(request, "web/outreach/activity_form.html", context, status=status)


def _new_initial(request) -> dict:
    initial = {"day": _day(request.GET.get("day")), "kind": request.GET.get("kind", "")}
    if request.GET.get("organization", "").isdigit():
        initial["organization"] = int(request.GET["organization"])
    if request.GET.get("clinician", "").isdigit():
        initial["clinicians"] = [int(request.GET["clinician"])]
        initial["kind"] = initial["kind"] or "office_visit"
    return initial


@requires("do_outreach")
def activity_page(request, pk: int):
    activity = _activity(request, pk)
    context = {
        "activity": activity,
        "is_event": activity.kind in EVENT_KINDS,
        "planned": activity.status == ActivityStatus.PLANNED,
        "loggable": activity.starts_at <= timezone.now() + LOG_AHEAD,
        "cancel_form": CancelForm(),
        "invite_form": InviteForm(user=request.user),
        "register_url": (
            request.build_absolute_uri(
                reverse("event_register", args=[activity.registration_token])
            )
            if activity.registration_token and activity.status == ActivityStatus.PLANNED
            else ""
        ),
    }
    return render(request, "web/outreach/activity.html", context)


@requires("do_outreach")
def activity_change(request, pk: int):
    activity = _activity(request, pk)
    if request.method == "POST":
        form = ActivityForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                activity_edit(activity=activity, draft=form.draft(), by=request.user)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Saved.")
                return redirect("outreach_activity", pk=activity.pk)
        context = {"form": form, "title": f"Edit: {activity.title}", "activity": activity}
        return render(request, "web/outreach/activity_form.html", context, status=400)
    form = ActivityForm(initial=ActivityForm.initial_of(activity), user=request.user)
    context = {"form": form, "title": f"Edit: {activity.title}", "activity": activity}
    return render(request, "web/outreach/activity_form.html", context)


@requires("do_outreach")
def activity_log_page(request, pk: int):
    activity = _activity(request, pk)
    form = LogForm(request.POST or None, activity=activity)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        entry = LogEntry(
            attended=list(data["attended"]),
            office_staff=data["office_staff"],
            topics=data["topics"],
            notes=data["notes"],
            cost=data["cost"],
            follow_ups=form.follow_ups(),
            registrations_attended=form.registrations_attended(),
        )
        try:
            activity_log(activity=activity, entry=entry, by=request.user)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Logged: {activity.title}.")
            return redirect("outreach_activity", pk=activity.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "activity": activity}
    return render(request, "web/outreach/activity_log.html", context, status=status)


@requires("do_outreach")
@require_POST
def activity_cancel_view(request, pk: int):
    activity = _activity(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the activity is cancelled.")
        return redirect("outreach_activity", pk=activity.pk)
    try:
        activity_cancel(activity=activity, reason=form.cleaned_data["reason"], by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Cancelled: {activity.title}.")
    return redirect("outreach_activity", pk=activity.pk)


@requires("do_outreach")
@require_POST
def event_invite_view(request, pk: int):
    activity = _activity(request, pk)
    form = InviteForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Choose a target list.")
        return redirect("outreach_activity", pk=activity.pk)
    try:
        result = event_invite(
            activity=activity, target_list=form.cleaned_data["target_list"], by=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{result.queued} invitation{'s' if result.queued != 1 else ''} on the way"
            + (f"; {result.already} invited before" if result.already else "")
            + ". Unsubscribed addresses are left out.",
        )
    return redirect("outreach_activity", pk=activity.pk)


@requires("do_outreach")
@require_POST
def follow_up_done(request, pk: int):
    follow_up = FollowUp.objects.filter(pk=pk).first()
    if follow_up is None:
        raise Http404("No such task.")
    try:
        followup_done(follow_up=follow_up, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Done.")
    return redirect(safe_next(request, reverse("outreach_week")))


def _quarter_before(day: dt.date) -> tuple[dt.date, dt.date]:
    """The last full calendar quarter before `day`: [start, end)."""
    end = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return month_before(month_before(month_before(end))), end


@requires("do_outreach")
def effect(request):
    """Referral volume and conversion of the referrers touched in a period, before and after the
    first touch, beside comparable untouched referrers: an association, with its interval."""
    start, end = _quarter_before(timezone.localdate())
    form = EffectForm(request.GET or None, initial={"start": start, "end": end, "months": 3})
    months, mine = DEFAULT_MONTHS, False
    if form.is_bound and form.is_valid():
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
        months = form.cleaned_data["months"] or months
        mine = form.cleaned_data["mine"]
    touches = activity_touches()
    treated = set(activity_touches(liaison=request.user)) if mine else None
    # The earliest before-window starts `months` before the period.
    facts = facts_frame(received_since=months_shift(start, -months), columns=EFFECT_COLUMNS)
    figures = outreach_effect(
        facts,
        touches=touches,
        treated=treated,
        start=start,
        end=end,
        as_of=timezone.now(),
        tz=timezone.get_current_timezone(),
        months=months,
    )
    context = {
        "form": form,
        "effect": figures,
        "start": start,
        "end": end,
        "last_day": end - dt.timedelta(days=1),
        "volume_words": effect_words(figures.volume, unit="referrals a month"),
        "conversion_words": effect_words(
            figures.conversion, unit="percentage points of conversion", scale=100
        ),
        "bands": BAND_LABELS,
    }
    return render(request, "web/outreach/effect.html", context)
