"""Every write of campaigns. One function per state change; each validates, writes (a
conditional UPDATE on the state it expects), records a CampaignEvent and notifies, in that order.

Rules kept here:
- Content only from the approved library: content_usable() on the send day, when scheduling and
  again when sending starts (expired meanwhile: nothing is sent and the campaign stops, saying why).
- Honest access: a campaign promoting a service line whose measured days to appointment exceed
  the target (analytics.turnaround.line_access_held) is held until a manager decides; the check
  runs again when sending starts, and only a manager's release lets a held line's campaign go.
- Suppression is for good, honoured at once, and covers campaigns only.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.campaigns.compose import FIELDS, fields_unknown
from refloop.campaigns.enums import (
    EDITABLE_STATES,
    TRANSITIONS,
    CampaignState,
    EventAction,
    HoldDecision,
    RecipientState,
)
from refloop.campaigns.models import Campaign, CampaignEvent, CampaignRecipient, Suppression
from refloop.content.enums import ContentKind
from refloop.content.models import ContentVersion
from refloop.content.queries import content_usable
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.core.roles import Role, user_roles

log = logging.getLogger(__name__)

# A schedule time this far in the past still counts as "now" (a form filled in a minute ago).
PAST_TOLERANCE = dt.timedelta(minutes=5)
EDITABLE_FIELDS = (
    "name",
    "target_list",
    "content_item",
    "service_line",
    "sender_name",
    "sender_address",
    "scheduled_at",
    "tracking_allowed",
)


def _require(user, permission: str) -> None:
    if user is not None and not user.has_perm(f"core.{permission}"):
        raise NotAllowed("Your role does not allow this action.")


def campaign_may_change(*, user, campaign: Campaign) -> bool:
    """The campaign's author, or a manager (who oversees the liaisons), as for activities."""
    if user is None or campaign.created_by_id == user.pk or user.is_superuser:
        return True
    return bool(user_roles(user) & {Role.MANAGER, Role.ADMIN})


def _may_change(user, campaign: Campaign) -> None:
    if not campaign_may_change(user=user, campaign=campaign):
        raise NotAllowed("Only the campaign's author or a manager can change it.")


# Drafts -----------------------------------------------------------------------------------------


def campaign_create(*, user, name: str, target_list, content_item, **fields) -> Campaign:
    """A draft. The sender defaults to the practice itself."""
    _require(user, "do_outreach")
    campaign = Campaign(
        name=name,
        target_list=target_list,
        content_item=content_item,
        sender_name=fields.pop("sender_name", "") or settings.REFLOOP_PRACTICE_NAME,
        sender_address=fields.pop("sender_address", "") or settings.DEFAULT_FROM_EMAIL,
        created_by=user,
        **fields,
    )
    _draft_check(campaign, user)
    campaign.save()
    return campaign


def campaign_update(*, campaign: Campaign, user, **fields) -> Campaign:
    """Change a draft (a scheduled or held campaign goes back to draft first)."""
    _require(user, "do_outreach")
    _may_change(user, campaign)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"These cannot be changed: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(campaign, name, value)
    _draft_check(campaign, user)
    updated = Campaign.objects.filter(pk=campaign.pk, state__in=EDITABLE_STATES).update(**fields)
    if not updated:
        raise Conflict("Only a draft can be changed: put the campaign back to draft first.")
    return campaign


def _draft_check(campaign: Campaign, user) -> None:
    if not campaign.name.strip():
        raise DomainError("Give the campaign a name.", code="name_required")
    if campaign.content_item.kind != ContentKind.EMAIL:
        raise DomainError("A campaign sends e-mail content: choose an e-mail from the library.")
    target_list = campaign.target_list
    if user is not None and not (target_list.shared or target_list.owner_id == user.pk):
        raise NotAllowed("That target list is neither yours nor shared.")
    _sender_check(campaign.sender_name, campaign.sender_address)


def _sender_check(name: str, address: str) -> None:
    """Honest From: the name says who sends it (the practice), the address is the practice's."""
    practice = settings.REFLOOP_PRACTICE_NAME
    if practice.lower() not in name.lower():
        raise DomainError(
            f"The sender's name must name the practice, for example “Jo Lee, {practice}”.",
            code="sender_name",
        )
    domains = {
        settings.REFLOOP_MAIL_DOMAIN.lower(),
        settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].lower(),
    }
    if address.rpartition("@")[2].lower() not in domains:
        raise DomainError(
            "The sender's address must be at the practice's domain: "
            + ", ".join(sorted(domains))
            + ".",
            code="sender_address",
        )


# Checks shared by scheduling and the start of sending --------------------------------------------


def content_version_for(*, campaign: Campaign, day: dt.date) -> ContentVersion:
    """The approved, unexpired version to send on `day`, checked for personal fields."""
    item = campaign.content_item
    version = content_usable(item=item, on=day)
    if version is None:
        raise DomainError(
            f"“{item.title}” has no approved version that is still valid on {day:%Y-%m-%d}: "
            "only approved, unexpired content is sent.",
            code="content_not_usable",
        )
    if not version.subject.strip():
        raise DomainError(f"“{item.title}” v{version.number} has no subject.", code="no_subject")
    for part, text in (("subject", version.subject), ("body", version.body)):
        try:
            unknown = fields_unknown(text)
        except ValueError:
            raise DomainError(
                f"The {part} of “{item.title}” v{version.number} has a lone brace: a field is "
                "written {first_name}, a literal brace doubled.",
                code="lone_brace",
            ) from None
        if unknown:
            named = ", ".join("{" + field + "}" for field in unknown)
            raise DomainError(
                f"Unknown personal field {named} in the {part} of “{item.title}” "
                f"v{version.number}. Known fields: "
                + ", ".join("{" + field + "}" for field in FIELDS)
                + ".",
                code="unknown_field",
            )
    return version


def line_held(*, service_line) -> bool:
    """True when the promoted line's measured access is over target (stream F's measure)."""
    if service_line is None:
        return False
    from refloop.analytics.turnaround import line_access_held

    return line_access_held(service_line=service_line)


def campaign_line_held(*, campaign: Campaign):
    """The first line the campaign promotes whose access is over target, or None. A campaign
    promotes the line chosen on its form AND its content's own line: the e-mail names the
    content's line ({service_line}), so leaving the form's field empty must not skip the hold."""
    lines = [campaign.service_line, campaign.content_item.service_line]
    seen = set()
    for line in lines:
        if line is None or line.pk in seen:
            continue
        seen.add(line.pk)
        if line_held(service_line=line):
            return line
    return None


def _held_reason(service_line) -> str:
    return (
        f"{service_line.name}: measured days to appointment over the last 90 days exceed the "
        "target, so a campaign promoting it waits for a manager's decision."
    )


def _postal_address_check() -> None:
    if not settings.REFLOOP_PRACTICE_POSTAL_ADDRESS.strip():
        raise DomainError(
            "The practice's postal address is not set (REFLOOP_PRACTICE_POSTAL_ADDRESS): "
            "campaign e-mail must carry it.",
            code="postal_address",
        )


# State changes ----------------------------------------------------------------------------------


def _transition(
    campaign: Campaign,
    *,
    to: str,
    action: str,
    actor,
    now: dt.datetime,
    reason: str = "",
    details: dict | None = None,
    **fields,
) -> Campaign:
    """Validate the move, write it (only if the state is still the one we read), record it."""
    was = campaign.state
    if to not in TRANSITIONS[was]:
        raise Conflict(
            f"A {CampaignState(was).label.lower()} campaign cannot become "
            f"{CampaignState(to).label.lower()}."
        )
    fields = {"state": to, **fields}
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, state=was).update(**fields):
            raise Conflict("Someone else changed this campaign a moment ago. Reload to see it.")
        CampaignEvent.objects.create(
            campaign=campaign,
            at=now,
            actor=actor,
            action=action,
            from_state=was,
            to_state=to,
            reason=reason,
            details=details or {},
        )
    for name, value in fields.items():
        setattr(campaign, name, value)
    log.info("campaign %s %s -> %s (%s)", campaign.pk, was, to, action)
    return campaign


_HOLD_CLEARED = {
    "hold_decision": "",
    "hold_decided_by": None,
    "hold_decided_at": None,
    "hold_reason": "",
}


def campaign_schedule(*, campaign: Campaign, user, now: dt.datetime | None = None) -> Campaign:
    """Draft -> scheduled, or -> held when the promoted line's access is over target."""
    now = now or timezone.now()
    _require(user, "do_outreach")
    _may_change(user, campaign)
    if campaign.state not in EDITABLE_STATES:
        raise Conflict("Only a draft can be scheduled.")
    _draft_check(campaign, user)
    _postal_address_check()
    if campaign.scheduled_at is None:
        raise DomainError("Choose when to send it.", code="scheduled_at")
    if campaign.scheduled_at < now - PAST_TOLERANCE:
        raise DomainError("The send time is in the past: choose now or later.", code="past")
    version = content_version_for(campaign=campaign, day=timezone.localdate(campaign.scheduled_at))
    if not campaign_audience(campaign=campaign):
        raise DomainError(
            "Nobody on this target list has an e-mail address we may write to.",
            code="no_audience",
        )
    details = {"version": version.number}
    held_line = campaign_line_held(campaign=campaign)
    if held_line is not None:
        _hold(campaign, line=held_line, actor=user, now=now, details=details)
        return campaign
    return _transition(
        campaign,
        to=CampaignState.SCHEDULED,
        action=EventAction.SCHEDULED,
        actor=user,
        now=now,
        details=details,
        state_reason="",
        **_HOLD_CLEARED,
    )


def campaign_unschedule(*, campaign: Campaign, user, now: dt.datetime | None = None) -> Campaign:
    """Scheduled or held -> draft, to change it (scheduling again checks everything again)."""
    now = now or timezone.now()
    _require(user, "do_outreach")
    _may_change(user, campaign)
    return _transition(
        campaign,
        to=CampaignState.DRAFT,
        action=EventAction.UNSCHEDULED,
        actor=user,
        now=now,
        state_reason="",
        **_HOLD_CLEARED,
    )


def campaign_hold_decide(
    *, campaign: Campaign, user, decision: str, reason: str, now: dt.datetime | None = None
) -> Campaign:
    """A manager's decision on a held campaign: release it (it is sent at its time, or at once if
    that has passed) or keep it held. Either way the decision, who and why are kept."""
    now = now or timezone.now()
    _require(user, "decide_access_hold")
    if decision not in HoldDecision.values:
        raise DomainError("Choose to release the campaign or keep it held.", code="decision")
    if not reason.strip():
        raise DomainError("Say why: the reason is kept with the decision.", code="reason")
    if campaign.state != CampaignState.HELD:
        raise Conflict("Only a held campaign waits for this decision.")
    released = decision == HoldDecision.RELEASED
    _transition(
        campaign,
        to=CampaignState.SCHEDULED if released else CampaignState.HELD,
        action=EventAction.RELEASED if released else EventAction.KEPT,
        actor=user,
        now=now,
        reason=reason.strip(),
        hold_decision=decision,
        hold_decided_by=user,
        hold_decided_at=now,
        hold_reason=reason.strip(),
    )
    verb = "released" if released else "kept held"
    _notify_owner(campaign, f"Campaign “{campaign.name}” {verb} by a manager: {reason}", now)
    return campaign


def campaign_cancel(
    *, campaign: Campaign, user, reason: str = "", now: dt.datetime | None = None
) -> Campaign:
    """Any campaign not finished. One being sent stops before its next message; the ones
    already sent stay sent, the rest stay queued (shown as not sent)."""
    now = now or timezone.now()
    _require(user, "do_outreach")
    _may_change(user, campaign)
    return _transition(
        campaign,
        to=CampaignState.CANCELLED,
        action=EventAction.CANCELLED,
        actor=user,
        now=now,
        reason=reason.strip(),
        state_reason=f"Cancelled. {reason.strip()}".strip(),
        finished_at=now,
    )


def campaign_start(*, campaign_id: int, now: dt.datetime) -> str:
    """Scheduled and due -> sending (recipients written, the send task queued on commit); or
    stopped with the reason if the content expired meanwhile; or held if access went over target
    and no manager released it. Returns the state. Safe to call twice: only a scheduled campaign
    starts."""
    campaign = Campaign.objects.select_related(
        "content_item__service_line", "service_line", "target_list"
    ).get(pk=campaign_id)
    if campaign.state != CampaignState.SCHEDULED:
        return campaign.state
    try:
        _postal_address_check()
        version = content_version_for(campaign=campaign, day=timezone.localdate(now))
    except DomainError as error:
        return _stopped(campaign, reason=f"Not sent: {error.message}", now=now).state
    held_line = campaign_line_held(campaign=campaign)
    held = held_line is not None
    if held and campaign.hold_decision != HoldDecision.RELEASED:
        return _hold(campaign, line=held_line, actor=None, now=now).state
    with transaction.atomic():
        # Recipients first: if another scheduler started the campaign meanwhile, the transition
        # below raises Conflict and this whole block (these rows too) is rolled back.
        written = _recipients_write(campaign)
        _transition(
            campaign,
            to=CampaignState.SENDING,
            action=EventAction.STARTED,
            actor=None,
            now=now,
            details={"version": version.number, "recipients": written, "released": held},
            content_version=version,
            started_at=now,
        )
        campaign_send_queue(campaign_id=campaign.pk)
    return campaign.state


def _hold(campaign: Campaign, *, line, actor, now: dt.datetime, details=None) -> Campaign:
    """-> held for access (at scheduling or when sending would start), managers told."""
    reason = _held_reason(line)
    _transition(
        campaign,
        to=CampaignState.HELD,
        action=EventAction.HELD,
        actor=actor,
        now=now,
        reason=reason,
        details=details,
        state_reason=reason,
        **_HOLD_CLEARED,
    )
    _notify_hold_deciders(campaign, reason, now)
    return campaign


def campaign_stop(*, campaign: Campaign, reason: str, now: dt.datetime) -> Campaign:
    """Sending -> cancelled by Refloop itself (the version being sent was retired or expired
    midway): what went out stays sent, the rest is not sent, and the reason is kept."""
    return _stopped(campaign, reason=f"Stopped: {reason}", now=now)


def _stopped(campaign: Campaign, *, reason: str, now: dt.datetime) -> Campaign:
    """-> cancelled by Refloop itself, before or during sending, with the reason kept and told."""
    _transition(
        campaign,
        to=CampaignState.CANCELLED,
        action=EventAction.STOPPED,
        actor=None,
        now=now,
        reason=reason,
        state_reason=reason[:300],
        finished_at=now,
        lease_until=None,
    )
    _notify_owner(campaign, f"Campaign “{campaign.name}” stopped. {reason}", now)
    return campaign


def campaign_send_queue(*, campaign_id: int) -> None:
    from refloop.campaigns.tasks import campaign_send_task

    transaction.on_commit(lambda: campaign_send_task.enqueue(campaign_id))


def campaign_finish(*, campaign_id: int, now: dt.datetime) -> bool:
    """Sending -> sent once no recipient is left queued (by any worker); True if this call
    did it."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.state != CampaignState.SENDING:
        return False
    if campaign.recipients.filter(state=RecipientState.QUEUED).exists():
        return False
    counts = recipient_counts(campaign_id=campaign_id)
    try:
        _transition(
            campaign,
            to=CampaignState.SENT,
            action=EventAction.FINISHED,
            actor=None,
            now=now,
            details=counts,
            finished_at=now,
            lease_until=None,
            state_reason="",
        )
    except Conflict:
        return False  # another worker finished it a moment ago
    summary = ", ".join(
        f"{counts[state]} {state}" for state in ("sent", "suppressed", "failed") if counts[state]
    )
    _notify_owner(campaign, f"Campaign “{campaign.name}” sent: {summary or 'nobody'}.", now)
    return True


def recipient_counts(*, campaign_id: int) -> dict[str, int]:
    from refloop.campaigns.queries import campaign_counts

    return campaign_counts(campaign_id=campaign_id)


# Recipients ------------------------------------------------------------------------------------


def campaign_audience(*, campaign: Campaign) -> list:
    """Everyone on the list with an address we may write to (relations decides who is on it)."""
    from refloop.relations.queries import target_list_audience

    return target_list_audience(target_list=campaign.target_list)


def _recipients_write(campaign: Campaign) -> int:
    """The audience as recipient rows, plus the list's members whose address is suppressed,
    written as suppressed (the audience leaves them out; here they are counted, not dropped)."""
    audience = campaign_audience(campaign=campaign)
    addresses = {person.email.strip().lower() for person in audience}
    suppressed = set(
        Suppression.objects.filter(email__in=addresses).values_list("email", flat=True)
    )
    rows, emails = [], set()
    for person in audience:
        email = person.email.strip().lower()
        if not email or email in emails:
            continue
        emails.add(email)
        rows.append(
            CampaignRecipient(
                campaign=campaign,
                email=email,
                name=person.name,
                clinician_id=person.clinician_id,
                contact_id=person.contact_id,
                organization_id=person.organization_id,
                token=recipient_token(),
                **_suppressed_fields(email in suppressed),
            )
        )
    for member in _suppressed_members(campaign, emails):
        rows.append(
            CampaignRecipient(
                campaign=campaign,
                token=recipient_token(),
                **member,
                **_suppressed_fields(True),
            )
        )
    CampaignRecipient.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def recipient_token() -> str:
    """128 random bits (22 characters): short enough that the List-Unsubscribe and Message-ID
    headers stay on one line."""
    return secrets.token_urlsafe(16)


def _suppressed_fields(suppressed: bool) -> dict:
    if not suppressed:
        return {}
    return {"state": RecipientState.SUPPRESSED, "error": "Unsubscribed: not sent."}


def _suppressed_members(campaign: Campaign, known: set[str]) -> list[dict]:
    """The list's clinicians and their offices' staff whose address is suppressed (the audience
    leaves them out): written as suppressed recipients, so the results count them. Read in
    steps (clinicians, their practices, the staff, then which addresses are suppressed): as one
    join with the list's subqueries, PostgreSQL planned it badly on fresh tables (minutes)."""
    from refloop.directory.models import ClinicianRole
    from refloop.relations.models import OfficeContact
    from refloop.relations.queries import target_list_clinicians

    clinicians = list(
        target_list_clinicians(target_list=campaign.target_list)
        .exclude(email="")
        .only("pk", "first_name", "last_name", "credentials", "email")
    )
    practices = set(
        ClinicianRole.objects.filter(
            clinician_id__in=[c.pk for c in clinicians], active=True
        ).values_list("organization_id", flat=True)
    )
    contacts = list(
        OfficeContact.objects.filter(organization_id__in=practices).exclude(email="").order_by("pk")
    )
    addresses = {c.email.strip().lower() for c in clinicians + contacts}
    suppressed = set(
        Suppression.objects.filter(email__in=addresses).values_list("email", flat=True)
    )
    members: dict[str, dict] = {}
    for clinician in clinicians:
        address = clinician.email.strip().lower()
        if address in suppressed:
            members.setdefault(
                address, {"email": address, "name": str(clinician), "clinician_id": clinician.pk}
            )
    for contact in contacts:
        address = contact.email.strip().lower()
        if address in suppressed:
            members.setdefault(
                address,
                {
                    "email": address,
                    "name": contact.name,
                    "contact_id": contact.pk,
                    "organization_id": contact.organization_id,
                },
            )
    return [member for address, member in members.items() if address not in known]


def suppression_add(*, email: str, source: str, reason: str = "unsubscribed") -> Suppression:
    """Suppress an address for good, at once: its queued campaign e-mail is marked suppressed
    now, and no later campaign or invitation goes to it. Asking twice changes nothing."""
    email = email.strip().lower()
    try:
        with transaction.atomic():
            suppression, _ = Suppression.objects.get_or_create(
                email=email, defaults={"reason": reason, "source": source[:120]}
            )
    except IntegrityError:
        suppression = Suppression.objects.get(email=email)
    CampaignRecipient.objects.filter(
        email=email, state=RecipientState.QUEUED, claimed_at__isnull=True
    ).update(state=RecipientState.SUPPRESSED, error="Unsubscribed: not sent.")
    log.info("suppression %s added from %s", suppression.pk, source[:40])
    return suppression


def recipient_track(*, recipient: CampaignRecipient, what: str, now: dt.datetime) -> None:
    """The first open or click (later ones change nothing)."""
    field = {"open": "opened_at", "click": "clicked_at"}[what]
    rows = CampaignRecipient.objects.filter(pk=recipient.pk, **{f"{field}__isnull": True})
    rows.update(**{field: now})
    if what == "click":  # a click means it was opened, even with images off
        CampaignRecipient.objects.filter(pk=recipient.pk, opened_at__isnull=True).update(
            opened_at=now
        )


# Notifications ----------------------------------------------------------------------------------


def _hold_deciders():
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(
                groups__permissions__codename="decide_access_hold",
                groups__permissions__content_type__app_label="core",
            )
        )
        .distinct()
        .values_list("pk", flat=True)
    )


def _notify_hold_deciders(campaign: Campaign, reason: str, now: dt.datetime) -> None:
    spec = AlertSpec(
        key=f"campaign-held:{campaign.pk}:{now:%Y%m%d%H%M%S}",
        recipient_ids=tuple(_hold_deciders()),
        text=f"Campaign “{campaign.name}” is held and waits for your decision. {reason}",
        kind="campaign_held",
    )
    alerts_raise(specs=[spec], now=now)


def _notify_owner(campaign: Campaign, text: str, now: dt.datetime) -> None:
    if campaign.created_by_id is None:
        return
    spec = AlertSpec(
        key=f"campaign:{campaign.pk}:{now:%Y%m%d%H%M%S%f}",
        recipient_ids=(campaign.created_by_id,),
        text=text,
        kind="campaign",
        level="info",
    )
    alerts_raise(specs=[spec], now=now)
