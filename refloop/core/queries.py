"""Reads of core tables: the access log search managers use."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from refloop.core.models import AccessLogEntry


@dataclass(frozen=True)
class AccessLogCriteria:
    username: str = ""
    patient_id: int | None = None
    object_type: str = ""
    object_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def access_log_search(*, criteria: AccessLogCriteria) -> QuerySet[AccessLogEntry]:
    """Entries matching every criterion given, newest first (paginate the result)."""
    rows = AccessLogEntry.objects.all()
    if criteria.username:
        rows = rows.filter(username=criteria.username.strip())
    if criteria.patient_id:
        rows = rows.filter(patient_id=criteria.patient_id)
    if criteria.object_type:
        rows = rows.filter(object_type=criteria.object_type)
    if criteria.object_id:
        rows = rows.filter(object_id=criteria.object_id.strip())
    if criteria.date_from:
        rows = rows.filter(at__gte=_day_start(criteria.date_from))
    if criteria.date_to:
        rows = rows.filter(at__lt=_day_start(criteria.date_to + dt.timedelta(days=1)))
    return rows.order_by("-at", "-id")


def people_who_see_phi():
    """Active accounts whose role works on patients: the people referrals can be assigned to."""
    from django.contrib.auth.models import User
    from django.db.models import Q

    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(
                groups__permissions__codename="view_phi",
                groups__permissions__content_type__app_label="core",
            )
        )
        .distinct()
        .only("id", "username", "first_name", "last_name")
        .order_by("username")
    )
