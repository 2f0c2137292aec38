"""Events and webinars: inviting a target list by e-mail, public registration, attendance.

An invitation to an event is marketing e-mail to clinicians and their offices (never patients),
so it goes as campaigns do (CAN-SPAM): the first line says it is an advertisement from the
practice, the footer carries the practice's postal address and an unsubscribe link honoured at
once (the address goes on campaigns' suppression list for good, through campaigns.services), and
an address on that list is never invited: it is left out when the list is read
(relations.queries.target_list_audience) and checked again just before sending
(campaigns.queries.address_suppressed), so an unsubscribe in between is honoured.

Sending: each invitation is a row; a task queued on commit sends it, claiming the row with a
conditional UPDATE (queued -> sending), so a task run twice sends once; the scheduler's
`invitations_send` picks up rows whose task was lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from refloop.campaigns.compose import ADVERTISEMENT
from refloop.campaigns.queries import address_suppressed
from refloop.campaigns.services import suppression_add
from refloop.core.errors import DomainError, Gone
from refloop.outreach.enums import EVENT_KINDS, ActivityKind, ActivityStatus, InvitationStatus
from refloop.outreach.models import Activity, ActivityChange, Invitation, Registration
from refloop.outreach.services import _may_change
from refloop.relations.models import TargetList
from refloop.relations.queries import target_list_audience

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InviteResult:
    queued: int  # new invitations
    already: int  # on the list and invited before


def _event_check(activity: Activity) -> None:
    if activity.kind not in EVENT_KINDS:
        raise DomainError("Only events and webinars take invitations and registrations.")
    if activity.status != ActivityStatus.PLANNED:
        raise DomainError("This event is no longer open: it was held or cancelled.")


@transaction.atomic
def event_invite(*, activity: Activity, target_list: TargetList, by) -> InviteResult:
    """Invite everyone on the target list with an e-mail (clinicians and their office staff,
    one per address, unsubscribed addresses left out); someone invited before is not invited
    again."""
    _may_change(by, activity)
    # Two invitations of one event at once (a double click, two people) wait for each other
    # here, so the second sees who the first invited instead of failing on the unique address.
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    _event_check(activity)
    if activity.starts_at <= timezone.now():
        raise DomainError("This event has started: invitations can no longer go out.")
    if not (target_list.shared or target_list.owner_id == by.pk):
        raise DomainError("Choose one of your target lists or a shared one.")
    audience = target_list_audience(target_list=target_list)
    invited = set(activity.invitations.values_list("email", flat=True))
    new = [
        Invitation(
            activity=activity,
            email=r.email.lower(),
            name=r.name,
            clinician_id=r.clinician_id,
            contact_id=r.contact_id,
            organization_id=r.organization_id,
            token=secrets.token_urlsafe(24),
        )
        for r in audience
        if r.email.lower() not in invited
    ]
    Invitation.objects.bulk_create(new)
    Activity.objects.filter(pk=activity.pk).update(target_list=target_list)
    ActivityChange.objects.create(
        activity=activity,
        at=timezone.now(),
        by=by,
        from_status=activity.status,
        to_status=activity.status,
        note=f"invited {len(new)} from the list {target_list.name}"[:300],
    )
    ids = list(
        activity.invitations.filter(status=InvitationStatus.QUEUED).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: _enqueue(ids))
    return InviteResult(queued=len(new), already=len(audience) - len(new))


def _enqueue(ids: list[int]) -> None:
    from refloop.outreach.tasks import invitation_send_task

    for pk in ids:
        invitation_send_task.enqueue(pk)


def _absolute(path: str) -> str:
    return settings.REFLOOP_BASE_URL.rstrip("/") + path


def invitation_compose(invitation: Invitation) -> EmailMessage:
    """The invitation as it goes out: an advertisement with the practice's postal address and an
    unsubscribe link (and RFC 8058 one-click headers pointing at the same page)."""
    activity = invitation.activity
    practice = settings.REFLOOP_PRACTICE_NAME
    when = timezone.localtime(activity.starts_at)
    register = _absolute(reverse("event_invitation", args=[invitation.token]))
    unsubscribe = _absolute(reverse("event_unsubscribe", args=[invitation.token]))
    lines = [
        ADVERTISEMENT.format(practice=practice),
        "",
        f"Dear {invitation.name or 'Colleague'},",
        "",
        f"{practice} invites you to a {ActivityKind(activity.kind).label.lower()}: "
        f"{activity.title}.",
        f"When: {when:%A %B %-d, %Y at %-I:%M %p}",
    ]
    if activity.place:
        lines.append(f"Where: {activity.place}")
    if activity.join_link:
        lines.append("Online: the join link comes with your registration.")
    if activity.topics:
        lines.append(f"Topics: {activity.topics}")
    lines += [
        "",
        f"Register (no account needed): {register}",
        "",
        "-- ",
        f"{practice}, {settings.REFLOOP_PRACTICE_POSTAL_ADDRESS}",
        "You receive this as a referring clinician or a member of a referring office.",
        f"Unsubscribe (at once, for good): {unsubscribe}",
    ]
    liaison_email = activity.liaison.email
    return EmailMessage(
        subject=f"Invitation: {activity.title}",
        body="\n".join(lines),
        # An honest sender: the practice by name; answers go to the liaison who invites.
        from_email=formataddr((practice, settings.DEFAULT_FROM_EMAIL)),
        reply_to=[liaison_email] if liaison_email else None,
        to=[invitation.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def invitation_send(*, invitation_id: int, now: dt.datetime | None = None) -> str:
    """Send one invitation, once: claim it (queued -> sending), check the address is still not
    suppressed, send through Django's e-mail backend; returns the status it ends in."""
    now = now or timezone.now()
    claimed = Invitation.objects.filter(pk=invitation_id, status=InvitationStatus.QUEUED).update(
        status=InvitationStatus.SENDING, lease_until=now + dt.timedelta(minutes=5)
    )
    if not claimed:
        return Invitation.objects.filter(pk=invitation_id).values_list("status", flat=True).first()
    invitation = Invitation.objects.select_related("activity__liaison").get(pk=invitation_id)
    if address_suppressed(email=invitation.email):
        return _finish(invitation_id, InvitationStatus.SUPPRESSED, "Unsubscribed: not sent.")
    if invitation.activity.status != ActivityStatus.PLANNED:
        return _finish(invitation_id, InvitationStatus.SUPPRESSED, "The event is no longer open.")
    message = invitation_compose(invitation)
    try:
        message.send()
    except Exception as error:  # the backend's own errors vary (SMTP, file, API)
        log.warning("invitation %s not sent: %s", invitation_id, type(error).__name__)
        return _finish(invitation_id, InvitationStatus.FAILED, type(error).__name__)
    return _finish(invitation_id, InvitationStatus.SENT, "", sent_at=now)


def _finish(invitation_id: int, status: str, reason: str, **fields) -> str:
    Invitation.objects.filter(pk=invitation_id).update(
        status=status, status_reason=reason, lease_until=None, **fields
    )
    return status


def invitation_unsubscribe(*, invitation: Invitation) -> None:
    """The invitee asked for no more marketing e-mail: suppressed at once, for good."""
    suppression_add(email=invitation.email, source=f"event invitation {invitation.activity_id}")


def registration_add(
    *,
    activity: Activity,
    name: str,
    email: str,
    office: str = "",
    invitation: Invitation | None = None,
) -> tuple[Registration, bool]:
    """Register someone for an event (the public link, no login); registering twice changes
    nothing. Refused when the event is full, held or cancelled."""
    _event_check(activity)
    name, email = name.strip(), email.strip().lower()
    if not name or not email:
        raise DomainError("Give your name and e-mail address.")
    existing = activity.registrations.filter(email=email).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        # The lock orders two people taking the last seat at once.
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        taken = locked.registrations.count()
        if locked.capacity is not None and taken >= locked.capacity:
            raise Gone("This event is full.", code="event_full")
        try:
            with transaction.atomic():
                registration = Registration.objects.create(
                    activity=locked,
                    invitation=invitation,
                    name=name[:200],
                    email=email,
                    office=office.strip()[:200],
                    registered_at=timezone.now(),
                )
        except IntegrityError:
            return Registration.objects.get(activity=activity, email=email), False
    return registration, True
