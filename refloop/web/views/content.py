"""The content library and its compliance review (/content/): the library, an item with every
version and its audit trail, a version's preview with its claims flags, editing, the review queue
and the claims rules. Authors hold do_outreach, reviewers review_content; no page here shows
patient data."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from refloop.content.claims import claims_check, rules_active
from refloop.content.enums import (
    EDITABLE_STATES,
    OPEN_STATES,
    PERSONALISATION_FIELDS,
    TRANSITION_PERMISSIONS,
    TRANSITIONS,
    ContentKind,
    ContentState,
)
from refloop.content.models import ClaimRule, ContentItem, ContentVersion
from refloop.content.preview import body_html
from refloop.content.queries import (
    content_item_for_page,
    content_library,
    content_review_queue,
    content_version_for_page,
    version_claims,
)
from refloop.content.services import (
    claim_rule_save,
    content_create,
    content_transition,
    version_edit,
    version_new,
)
from refloop.core.errors import DomainError
from refloop.web.errors import domain_error_render
from refloop.web.forms_content import (
    ClaimRuleForm,
    ClaimsTryForm,
    ContentNewForm,
    DecisionForm,
    LibraryFilterForm,
    VersionTextForm,
)
from refloop.web.views import requires

AUTHOR, REVIEWER = "do_outreach", "review_content"
LIST_LIMIT = 200


def _may(user, from_state: str, to: str) -> bool:
    allowed = TRANSITION_PERMISSIONS.get((from_state, to), ())
    return to in TRANSITIONS.get(from_state, ()) and any(
        user.has_perm(f"core.{p}") for p in allowed
    )


def _status(version_state: str, expires_on, today) -> str:
    """What the library calls a version: its state, or "expired" for a lapsed approval."""
    if version_state == ContentState.APPROVED and expires_on and expires_on < today:
        return "expired"
    return version_state


# The library ----------------------------------------------------------------------------------


@requires(AUTHOR, REVIEWER)
def library(request):
    today = timezone.localdate()
    form = LibraryFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    line = data.get("line")
    items = list(
        content_library(
            on=today,
            kind=data.get("kind", ""),
            state=data.get("state", ""),
            service_line_id=line.pk if line else None,
        )[: LIST_LIMIT + 1]
    )
    rows = [
        (item, _status(item.latest_state, item.latest_expires_on, today))
        for item in items[:LIST_LIMIT]
    ]
    context = {"form": form, "rows": rows, "more": len(items) > LIST_LIMIT, "today": today}
    return render(request, "web/content/library.html", context)


@requires(AUTHOR)
def item_new(request):
    form = ContentNewForm(request.POST or None)
    context = {"form": form, "fields": PERSONALISATION_FIELDS}
    if request.method != "POST":
        return render(request, "web/content/new.html", context)
    if not form.is_valid():
        return render(request, "web/content/new.html", context, status=400)
    data = form.cleaned_data
    try:
        version = content_create(
            kind=data["kind"],
            title=data["title"],
            service_line=data["service_line"],
            subject=data["subject"],
            body=data["body"],
            user=request.user,
        )
    except DomainError as error:
        return domain_error_render(request, error, "web/content/new.html", context)
    messages.success(request, "Draft saved: check its flags, then hand it in for review.")
    return redirect("content_version_edit", pk=version.pk)


@requires(AUTHOR, REVIEWER)
def item_detail(request, pk: int):
    item = content_item_for_page(item_id=pk)
    if item is None:
        raise Http404("No such content.")
    today = timezone.localdate()
    versions = list(item.versions.all())
    context = {
        "item": item,
        "versions": [(v, _status(v.state, v.expires_on, today)) for v in versions],
        "trail": sorted(
            (d for v in versions for d in v.decisions.all()), key=lambda d: (d.at, d.pk)
        ),
        "open_version": next((v for v in versions if v.state in OPEN_STATES), None),
        "usable": next((v for v in versions if v.usable_on(today)), None),
    }
    return render(request, "web/content/item.html", context)


@require_POST
@requires(AUTHOR)
def item_version_new(request, pk: int):
    item = ContentItem.objects.filter(pk=pk).first()
    if item is None:
        raise Http404("No such content.")
    try:
        version = version_new(item=item, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("content_item", pk=pk)
    messages.success(request, f"Version {version.number} started from the last one.")
    return redirect("content_version_edit", pk=version.pk)


# A version --------------------------------------------------------------------------------------


def _version_or_404(pk: int) -> ContentVersion:
    version = content_version_for_page(version_id=pk)
    if version is None:
        raise Http404("No such version.")
    return version


def _previews(version: ContentVersion, flags) -> dict:
    fields = version.item.kind == ContentKind.EMAIL
    return {
        "subject_html": body_html(
            version.subject, flags=[f for f in flags if f.where == "subject"], fields=fields
        ),
        "body_html": body_html(
            version.body, flags=[f for f in flags if f.where == "body"], fields=fields
        ),
    }


def _version_context(request, version: ContentVersion, form=None) -> dict:
    user, state = request.user, version.state
    flags = version_claims(version=version)
    return {
        "version": version,
        "item": version.item,
        "status": _status(state, version.expires_on, timezone.localdate()),
        "flags": flags,
        **_previews(version, flags),
        "decisions": list(version.decisions.select_related("user").order_by("at", "id")),
        "can_edit": state in EDITABLE_STATES and user.has_perm(f"core.{AUTHOR}"),
        "can_submit": _may(user, state, ContentState.IN_REVIEW),
        "can_decide": _may(user, state, ContentState.APPROVED),
        "can_retire": _may(user, state, ContentState.RETIRED),
        "decision_form": form or DecisionForm(),
    }


@requires(AUTHOR, REVIEWER)
def version_detail(request, pk: int):
    version = _version_or_404(pk)
    return render(request, "web/content/version.html", _version_context(request, version))


@require_POST
@requires(AUTHOR, REVIEWER)
def version_transition(request, pk: int):
    version = _version_or_404(pk)
    to = request.POST.get("to", "")
    form = DecisionForm(request.POST)
    if to not in ContentState.values:
        raise Http404("No such step.")
    if not form.is_valid():
        context = _version_context(request, version, form)
        return render(request, "web/content/version.html", context, status=400)
    try:
        content_transition(
            version=version,
            to=to,
            user=request.user,
            comment=form.cleaned_data["comment"],
            expires_on=form.cleaned_data["expires_on"],
        )
    except DomainError as error:
        version = _version_or_404(pk)  # as it is now
        context = _version_context(request, version, form)
        return domain_error_render(request, error, "web/content/version.html", context)
    messages.success(request, f"Version {version.number}: {ContentState(to).label.lower()}.")
    if to in (ContentState.APPROVED, ContentState.CHANGES_REQUESTED):
        return redirect("content_review")
    return redirect("content_version", pk=pk)


@requires(AUTHOR)
def version_edit_page(request, pk: int):
    version = _version_or_404(pk)
    initial = {"subject": version.subject, "body": version.body}
    form = VersionTextForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            version_edit(
                version=version,
                user=request.user,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
            )
        except DomainError as error:
            return domain_error_render(
                request, error, "web/content/edit.html", _edit_context(version, form)
            )
        messages.success(request, "Saved.")
        return redirect("content_version_edit", pk=pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/content/edit.html", _edit_context(version, form), status=status)


def _edit_context(version: ContentVersion, form) -> dict:
    flags = version_claims(version=version)
    return {
        "version": version,
        "item": version.item,
        "form": form,
        "is_email": version.item.kind == ContentKind.EMAIL,
        "editable": version.state in EDITABLE_STATES,
        "flags": flags,
        "fields": PERSONALISATION_FIELDS,
        **_previews(version, flags),
    }


@require_POST
@requires(AUTHOR, REVIEWER)
def claims_live(request):
    """The flags of text being typed (the edit page asks as the author writes; htmx)."""
    typed = ContentVersion(
        subject=request.POST.get("subject", "")[:200], body=request.POST.get("body", "")[:50_000]
    )
    flags = version_claims(version=typed)
    return render(request, "web/content/_flags.html", {"flags": flags, "live": True})


# Review ---------------------------------------------------------------------------------------


@requires(REVIEWER)
def review_queue(request):
    rules = rules_active()
    waiting = list(content_review_queue()[: LIST_LIMIT + 1])
    rows = [(v, version_claims(version=v, rules=rules)) for v in waiting[:LIST_LIMIT]]
    context = {"rows": rows, "more": len(waiting) > LIST_LIMIT}
    return render(request, "web/content/review.html", context)


# Claims rules ---------------------------------------------------------------------------------


@requires(REVIEWER)
def rules(request):
    form = ClaimsTryForm(request.POST or None)
    tried = None
    if request.method == "POST" and form.is_valid():
        tried = {
            "flags": claims_check(form.cleaned_data["text"]),
            "html": None,
        }
        tried["html"] = body_html(form.cleaned_data["text"], flags=tried["flags"])
    context = {
        "rules": ClaimRule.objects.select_related("updated_by").order_by("category", "name"),
        "form": form,
        "tried": tried,
    }
    return render(request, "web/content/rules.html", context)


@requires(REVIEWER)
def rule_edit(request, pk: int | None = None):
    rule = None
    if pk is not None:
        rule = ClaimRule.objects.filter(pk=pk).first()
        if rule is None:
            raise Http404("No such rule.")
    form = ClaimRuleForm.for_rule(rule, request.POST or None)
    context = {"form": form, "rule": rule}
    if request.method != "POST":
        return render(request, "web/content/rule.html", context)
    if not form.is_valid():
        return render(request, "web/content/rule.html", context, status=400)
    try:
        claim_rule_save(rule=rule, user=request.user, **form.cleaned_data)
    except DomainError as error:
        return domain_error_render(request, error, "web/content/rule.html", context)
    messages.success(request, "Rule saved: it applies to every check from now on.")
    return redirect(reverse("content_rules"))
