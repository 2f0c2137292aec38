"""Portal accounts for referring offices: staff invite an e-mail address for one organization,
the office accepts with a strong password, and signs in with throttling (and TOTP if set up)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from refloop.core.errors import DomainError, Gone, NotAllowed, NotFound
from refloop.core.roles import OFFICE_GROUP
from refloop.directory.enums import OrganizationKind
from refloop.directory.models import Organization
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.services import message_queue
from refloop.portal.models import OfficeAccount, OfficeInvitation
from refloop.portal.services.throttle import rate_count, rate_count_add, rate_count_clear
from refloop.referrals.services import require

log = logging.getLogger(__name__)

LOGIN_SCOPE = "office-login"
INVITE_PERMISSION = "assign_referral"  # managers and intake coordinators


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_link(token: str) -> str:
    return settings.REFLOOP_BASE_URL.rstrip("/") + reverse("office_accept", args=[token])


def office_invite(*, organization_id: int, email: str, actor) -> tuple[OfficeInvitation, str]:
    """Invite `email` to the portal for the organization; the link is e-mailed (it carries no
    PHI: the practice's name and the link). Returns the invitation and its link, which is shown
    to the inviting person once (nobody can see it again: only its hash is kept)."""
    require(actor, INVITE_PERMISSION)
    email = email.strip().lower()
    organization = Organization.objects.filter(
        pk=organization_id, kind=OrganizationKind.REFERRING_PRACTICE
    ).first()
    if organization is None:
        raise DomainError("Choose a referring practice.", code="organization")
    if User.objects.filter(username__iexact=email).exists():
        raise DomainError(
            "This e-mail address already has an account; each address belongs to one office.",
            code="account_exists",
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        invitation = OfficeInvitation.objects.create(
            organization=organization,
            email=email,
            token_hash=_hash(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.REFLOOP_OFFICE_INVITE_DAYS),
        )
        message_queue(
            audience=Audience.REFERRER,
            purpose=Purpose.STATUS_UPDATE,
            channel=MessageChannel.EMAIL,
            to_address=email,
            subject=f"Your invitation to the {settings.REFLOOP_PRACTICE_NAME} referral portal",
            body=(
                f"{settings.REFLOOP_PRACTICE_NAME} invites you to its referral portal, where your "
                "office can follow its referrals and send records.\n\n"
                f"Set your password here (the link works once, for "
                f"{settings.REFLOOP_OFFICE_INVITE_DAYS} days):\n{invite_link(token)}\n"
            ),
            dedupe_key=f"office-invite:{invitation.pk}",
        )
    log.info("office invitation %s for organization %s", invitation.pk, organization.pk)
    return invitation, invite_link(token)


def office_invitation_find(*, token: str, now: dt.datetime | None = None) -> OfficeInvitation:
    invitation = (
        OfficeInvitation.objects.select_related("organization")
        .filter(token_hash=_hash(token))
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    if invitation.used_at is not None:
        raise Gone("This invitation has already been used. Sign in instead.", code="used")
    if invitation.expires_at <= (now or timezone.now()):
        raise Gone("This invitation has expired. Ask the practice for a new one.", code="expired")
    return invitation


def office_invite_accept(*, token: str, password: str, password_again: str) -> OfficeAccount:
    """Make the office's account: the password must pass every validator in settings. The
    invitation is used by a conditional UPDATE, so two tabs cannot make two accounts."""
    invitation = office_invitation_find(token=token)
    if password != password_again:
        raise DomainError("The two passwords are not the same.", code="password_mismatch")
    user = User(username=invitation.email, email=invitation.email)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages), code="weak_password") from error
    with transaction.atomic():
        now = timezone.now()
        claimed = OfficeInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not claimed:
            raise Gone("This invitation has already been used. Sign in instead.", code="used")
        if User.objects.filter(username__iexact=invitation.email).exists():
            raise DomainError("This e-mail address already has an account.", code="account_exists")
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get_or_create(name=OFFICE_GROUP)[0])
        account = OfficeAccount.objects.create(
            user=user, organization=invitation.organization, invited_by=invitation.invited_by
        )
        OfficeInvitation.objects.filter(pk=invitation.pk).update(account=account)
    log.info("office account %s made from invitation %s", account.pk, invitation.pk)
    return account


def office_account_of(user) -> OfficeAccount | None:
    if not user.is_authenticated:
        return None
    return (
        OfficeAccount.objects.select_related("organization")
        .filter(user=user, active=True, user__is_active=True)
        .first()
    )


def _login_key(username: str, ip: str | None) -> str:
    return f"{username.strip().lower()}|{ip or '-'}"


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.REFLOOP_OFFICE_LOCK_MINUTES)


def office_login_locked(*, username: str, ip: str | None) -> bool:
    count = rate_count(scope=LOGIN_SCOPE, key=_login_key(username, ip), window=_window())
    return count >= settings.REFLOOP_OFFICE_LOGIN_FAILURES


LOCKED = (
    "Too many failed sign-ins for this account from your network. Sign-in is locked for up to "
    "{minutes} minutes; try again later or call the practice."
)
WRONG = "That e-mail address and password do not match an office account."


def office_login_failed(*, username: str, ip: str | None) -> None:
    rate_count_add(scope=LOGIN_SCOPE, key=_login_key(username, ip), window=_window())


def office_authenticate(*, request, username: str, password: str) -> User:
    """The office user for these credentials, or a DomainError. Each failure counts against the
    account from this address; at REFLOOP_OFFICE_LOGIN_FAILURES the pair is locked until the
    window (REFLOOP_OFFICE_LOCK_MINUTES) ends, and even the right password is refused."""
    ip = request.META.get("REMOTE_ADDR")
    if office_login_locked(username=username, ip=ip):
        raise NotAllowed(LOCKED.format(minutes=settings.REFLOOP_OFFICE_LOCK_MINUTES), code="locked")
    user = authenticate(request, username=username.strip().lower(), password=password)
    if user is None or office_account_of(user) is None:
        office_login_failed(username=username, ip=ip)
        raise DomainError(WRONG, code="wrong_credentials")
    return user


def office_login_succeeded(*, username: str, ip: str | None) -> None:
    rate_count_clear(scope=LOGIN_SCOPE, key=_login_key(username, ip))
