"""Every write of the content library: items and their versions, the one state-change function,
and the claims rules. Keyword-only; a refused request raises a DomainError whose message is safe
to show."""

from __future__ import annotations

import datetime as dt
import re
import string

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from refloop.alerts.queries import holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.content.claims import PATTERN_FLAGS, pattern_compile
from refloop.content.enums import (
    EDITABLE_STATES,
    OPEN_STATES,
    PERSONALISATION_FIELDS,
    TRANSITION_PERMISSIONS,
    TRANSITIONS,
    ClaimCategory,
    ContentKind,
    ContentState,
)
from refloop.content.models import ClaimRule, ContentDecision, ContentItem, ContentVersion
from refloop.content.queries import version_claims
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.directory.models import ServiceLine

# An approval lasts at most this long: content is looked at again at least every two years.
MAX_APPROVAL_DAYS = 730
MAX_BODY = 50_000
MAX_PATTERN = 400


def _require(user, *permissions: str) -> None:
    if not any(user.has_perm(f"core.{p}") for p in permissions):
        raise NotAllowed("Your role does not allow this action.")


def _fields_check(*, kind: str, subject: str, body: str) -> None:
    """E-mails may name personalisation fields (`{first_name}`); anything else in braces is a
    mistake the campaign would send as typed, so it is refused here, when it can be fixed."""
    if kind != ContentKind.EMAIL:
        return
    for label, text in (("subject", subject), ("body", body)):
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError:
            raise DomainError(
                f"The {label} has a lone {{ or }}: write a field as {{first_name}}, "
                "and double a brace you mean literally ({{ or }})."
            ) from None
        unknown = sorted({n for n in names if n not in PERSONALISATION_FIELDS})
        if unknown:
            raise DomainError(
                f"The {label} names unknown field(s) {', '.join('{' + n + '}' for n in unknown)}; "
                f"known fields: {', '.join('{' + n + '}' for n in PERSONALISATION_FIELDS)}."
            )


def _text_check(*, kind: str, subject: str, body: str) -> None:
    if len(body) > MAX_BODY:
        raise DomainError(f"The text is too long (at most {MAX_BODY:,} characters).")
    if len(subject) > 200:
        raise DomainError("The subject is too long (at most 200 characters).")
    _fields_check(kind=kind, subject=subject, body=body)


@transaction.atomic
def content_create(
    *,
    kind: str,
    title: str,
    user,
    body: str = "",
    subject: str = "",
    service_line: ServiceLine | None = None,
) -> ContentVersion:
    """A new item and its first version, a draft."""
    _require(user, "do_outreach")
    if kind not in ContentKind.values:
        raise DomainError("Choose what kind of content this is.")
    title = title.strip()
    if not title:
        raise DomainError("Give the content a title.")
    if kind == ContentKind.PROVIDER_PAGE and service_line is None:
        raise DomainError("A provider page belongs to a service line: choose one.")
    _text_check(kind=kind, subject=subject, body=body)
    item = ContentItem.objects.create(
        kind=kind, title=title[:200], service_line=service_line, created_by=user
    )
    return ContentVersion.objects.create(
        item=item,
        number=1,
        subject=subject,
        body=body,
        created_by=user,
        state_changed_at=timezone.now(),
    )


def version_new(*, item: ContentItem, user) -> ContentVersion:
    """The next version of an item, a draft copied from its last one. An item has one version
    being worked on at a time: while one is open, edit that one."""
    _require(user, "do_outreach")
    try:
        with transaction.atomic():
            last = item.versions.order_by("-number").first()
            if last is not None and last.state in OPEN_STATES:
                raise Conflict(
                    f"Version {last.number} is still {last.get_state_display().lower()}: "
                    "work on that one.",
                    code="version_open",
                )
            number = (item.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            return ContentVersion.objects.create(
                item=item,
                number=number,
                subject=last.subject if last else "",
                body=last.body if last else "",
                created_by=user,
                state_changed_at=timezone.now(),
            )
    except IntegrityError:
        raise Conflict(
            "Someone else started a new version a moment ago: open it.", code="version_open"
        ) from None


@transaction.atomic
def version_edit(*, version: ContentVersion, user, body: str, subject: str = "") -> ContentVersion:
    """Change a draft's (or a returned version's) text. Anything handed in stays as it was."""
    _require(user, "do_outreach")
    _text_check(kind=version.item.kind, subject=subject, body=body)
    changed = ContentVersion.objects.filter(pk=version.pk, state__in=EDITABLE_STATES).update(
        subject=subject, body=body
    )
    if not changed:
        raise Conflict(
            "This version can no longer be edited (it was handed in or decided): "
            "start a new version instead.",
            code="not_editable",
        )
    version.subject, version.body = subject, body
    return version


def _validate(version, to: str, user, comment: str, expires_on, today: dt.date) -> None:
    from_state = version.state
    if to not in TRANSITIONS.get(from_state, ()):
        raise DomainError(
            f"A version that is {ContentState(from_state).label.lower()} cannot become "
            f"{ContentState(to).label.lower() if to in ContentState.values else to}.",
            code="bad_transition",
        )
    _require(user, *TRANSITION_PERMISSIONS[(from_state, to)])
    if to == ContentState.IN_REVIEW:
        if not version.body.strip():
            raise DomainError("There is no text to review yet.")
        if version.item.kind == ContentKind.EMAIL and not version.subject.strip():
            raise DomainError("An e-mail needs a subject before review.")
    if to in (ContentState.APPROVED, ContentState.CHANGES_REQUESTED):
        _own_check(version, user)
    if to == ContentState.CHANGES_REQUESTED and not comment.strip():
        raise DomainError("Say what needs to change: the author sees your comment.")
    if to == ContentState.APPROVED:
        if expires_on is None:
            raise DomainError("An approval needs an expiry date.")
        if not today < expires_on <= today + dt.timedelta(days=MAX_APPROVAL_DAYS):
            raise DomainError(
                f"The expiry date must be after today and at most {MAX_APPROVAL_DAYS} days away."
            )
    elif expires_on is not None:
        raise DomainError("Only an approval takes an expiry date.")


def _own_check(version: ContentVersion, user) -> None:
    """A reviewer does not decide on a version they wrote or handed in."""
    handed_in = ContentDecision.objects.filter(
        version=version, user=user, to_state=ContentState.IN_REVIEW
    ).exists()
    if version.created_by_id == user.pk or handed_in:
        raise NotAllowed(
            "You wrote or handed in this version: another compliance reviewer decides on it.",
            code="own_version",
        )


@transaction.atomic
def content_transition(
    *,
    version: ContentVersion,
    to: str,
    user,
    comment: str = "",
    expires_on: dt.date | None = None,
) -> ContentDecision:
    """The one function that changes a version's state: validates, writes, records the audit row
    (with the claims flags as they stand) and notifies, in that order. Approving a version retires
    the item's earlier approved one, so an item has one approved text at a time."""
    now = timezone.now()
    today = timezone.localdate(now)
    from_state = version.state
    _validate(version, to, user, comment, expires_on, today)

    # The state we validated against is the claim: a second reviewer acting at the same moment
    # finds the row moved on and is told so.
    fields = {"state": to, "state_changed_at": now}
    if to == ContentState.APPROVED:
        fields["expires_on"] = expires_on
    if not ContentVersion.objects.filter(pk=version.pk, state=from_state).update(**fields):
        raise Conflict("Someone else changed this version a moment ago. Reload to see it.")
    for name, value in fields.items():
        setattr(version, name, value)

    decision = ContentDecision.objects.create(
        version=version,
        from_state=from_state,
        to_state=to,
        user=user,
        comment=comment.strip(),
        expires_on=expires_on,
        flags=[flag.as_json() for flag in version_claims(version=version)],
        at=now,
    )
    _notify(decision, now)
    if to == ContentState.APPROVED:
        _retire_superseded(version, user)
    return decision


def _notify(decision: ContentDecision, now: dt.datetime) -> None:
    version = decision.version
    title = f"{version.item.title} (version {version.number})"
    if decision.to_state == ContentState.IN_REVIEW:
        flags = len(decision.flags)
        recipients = tuple(pk for pk in holders_of("review_content") if pk != decision.user_id)
        text = f"Content to review: {title}" + (
            f", {flags} claim flag{'s' if flags != 1 else ''}." if flags else "."
        )
        kind = "content_submitted"
    elif decision.to_state == ContentState.APPROVED:
        recipients = (version.created_by_id,)
        text = f"Approved: {title}, until {decision.expires_on:%Y-%m-%d}."
        kind = "content_approved"
    elif decision.to_state == ContentState.CHANGES_REQUESTED:
        recipients = (version.created_by_id,)
        text = f"Changes requested on {title}: {decision.comment}"
        kind = "content_changes_requested"
    else:
        return
    recipients = tuple(pk for pk in recipients if pk is not None)
    alerts_raise(
        specs=[
            AlertSpec(
                key=f"content_decision:{decision.pk}",
                recipient_ids=recipients,
                kind=kind,
                text=text,
                level="info",
            )
        ],
        now=now,
    )


def _retire_superseded(version: ContentVersion, user) -> None:
    older = version.item.versions.filter(state=ContentState.APPROVED, number__lt=version.number)
    for old in older:
        content_transition(
            version=old,
            to=ContentState.RETIRED,
            user=user,
            comment=f"Superseded by version {version.number}.",
        )


# Claims rules ----------------------------------------------------------------------------------


def _pattern_check(label: str, pattern: str, *, bounded: bool = True) -> None:
    if len(pattern) > MAX_PATTERN:
        raise DomainError(f"The {label} is too long (at most {MAX_PATTERN} characters).")
    try:
        compiled = pattern_compile(pattern) if bounded else re.compile(pattern, PATTERN_FLAGS)
    except re.error as error:
        raise DomainError(f"The {label} is not a valid regular expression: {error}.") from None
    if compiled.search(""):
        raise DomainError(f"The {label} matches empty text: it would match everywhere.")


@transaction.atomic
def claim_rule_save(
    *,
    user,
    name: str,
    category: str,
    pattern: str,
    explanation: str,
    unless: str = "",
    active: bool = True,
    rule: ClaimRule | None = None,
) -> ClaimRule:
    """Add a rule or change one (compliance reviewers only). A pattern that does not compile, or
    would flag empty text, is refused with the reason."""
    _require(user, "review_content")
    name, pattern, unless, explanation = (
        name.strip(),
        pattern.strip(),
        unless.strip(),
        explanation.strip(),
    )
    if not name or not pattern or not explanation:
        raise DomainError("A rule needs a name, a pattern and an explanation.")
    if category not in ClaimCategory.values:
        raise DomainError("Choose the rule's category.")
    _pattern_check("pattern", pattern)
    if unless:
        _pattern_check("exception", unless, bounded=False)
    if ClaimRule.objects.filter(name__iexact=name).exclude(pk=getattr(rule, "pk", None)).exists():
        raise DomainError(f"There is already a rule named {name!r}.")
    rule = rule or ClaimRule()
    rule.name, rule.category, rule.pattern, rule.unless = name, category, pattern, unless
    rule.explanation, rule.active, rule.updated_by = explanation, active, user
    rule.save()
    return rule
