"""Reads of alerts: a person's badge and list, and who is told about a referral."""

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from refloop.alerts.models import Alert
from refloop.referrals.enums import State


def alerts_unread_count(*, user) -> int:
    return Alert.objects.filter(recipient=user, read_at__isnull=True).count()


def alerts_for(*, user, unread_only: bool = False) -> QuerySet[Alert]:
    rows = Alert.objects.filter(recipient=user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")


# Whose work a referral is in each open state, when nobody is assigned to it.
STATE_OWNER_PERMISSION = {
    State.RECEIVED: "receive_referral",
    State.TRIAGE: "triage_referral",
    State.ACCEPTED: "schedule_referral",
    State.SCHEDULED: "schedule_referral",
    State.NO_SHOW: "schedule_referral",
    State.COMPLETED: "close_referral",
}


def holders_of(permission: str) -> list[int]:
    """Active people whose role has the permission (superusers are not paged by default)."""
    return list(
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__permissions__codename=permission) | Q(user_permissions__codename=permission)
        )
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
