"""Writes of relations: the referrers' standings (from analytics), target lists, office staff.

`standings_refresh` is the one writer of ReferrerStanding: it reads the facts once, asks
analytics for the referrers' report (analytics.metrics.referrers), their service figures and
score (analytics.metrics.referrer_service), and stores them, so pages at 50,000 referrers read
an indexed table and nothing is computed twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import polars as pl
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

from refloop.analytics.metrics.referrer_service import (
    SERVICE_COLUMNS,
    referrer_score,
    referrer_service,
)
from refloop.analytics.metrics.referrers import referrers, window
from refloop.analytics.queries import facts_frame
from refloop.analytics.scope import Scope, month_before
from refloop.core.bulk import RowWriter
from refloop.core.errors import DomainError, NotAllowed
from refloop.directory.models import Clinician, ClinicianRole, Organization
from refloop.relations.models import (
    OfficeContact,
    PracticeAssignment,
    ReferrerStanding,
    StandingLine,
    TargetList,
)
from refloop.relations.queries import Criteria

log = logging.getLogger(__name__)

STANDING_MONTHS = 24
# What referrers() reads (its filters included) and what referrer_service adds.
STANDING_COLUMNS = tuple(
    dict.fromkeys(
        (
            "service_line",
            "priority",
            "channel",
            "referrer_key",
            "referrer_name",
            "practice",
            "received_at",
            "seen_at",
            *SERVICE_COLUMNS,
        )
    )
)


def standings_scope(now: dt.datetime) -> Scope:
    """The current month so far, in the practice's time zone: the window's last month."""
    tz = ZoneInfo(settings.TIME_ZONE)
    first = timezone.localtime(now, tz).date().replace(day=1)
    return Scope.month(first, tz=tz, as_of=now)


def standings_refresh(*, now: dt.datetime | None = None) -> int:
    """Recompute every referrer's standing over the last 24 months; returns how many referrers.

    The facts are read from one month before the window: a referrer who referred before the
    window then has their first referral before it, exactly as with the whole history, so the
    segments and trends are those of the full table (the first referral day shown is then only
    known to be before the window: stored as None)."""
    now = now or timezone.now()
    scope = standings_scope(now)
    w = window(scope, STANDING_MONTHS)
    read_from = month_before(w.months[0])
    facts = facts_frame(received_since=read_from, columns=STANDING_COLUMNS)
    return standings_write(facts=facts, scope=scope, now=now)


def standings_write(*, facts: pl.DataFrame, scope: Scope, now: dt.datetime) -> int:
    """The standings of `facts` (see standings_refresh), written in bulk: new referrers
    inserted, known ones updated, those gone from the window deleted."""
    rows, lines = standings_compute(facts=facts, scope=scope, now=now)
    standings_store(rows=rows, lines=lines, now=now)
    return len(rows)


def standings_compute(
    *, facts: pl.DataFrame, scope: Scope, now: dt.datetime
) -> tuple[list[ReferrerStanding], dict[str, list[tuple[str, int]]]]:
    """The standings' rows (unsaved) and each referrer's service lines, from analytics."""
    w = window(scope, STANDING_MONTHS)
    report = referrers(facts, scope, months=STANDING_MONTHS)
    service = referrer_service(facts, scope, months=STANDING_MONTHS)
    alerts = {a.key: a for a in report.alerts}
    people = _people(
        [r.key for r in report.referrers], {r.key: r.practice for r in report.referrers}
    )
    rows, lines = [], {}
    for r in report.referrers:
        alert = alerts.get(r.key)
        clinician, organization, territory, liaison, specialty = people.get(
            r.key, (None, None, None, None, "")
        )
        served = service.get(r.key)
        rows.append(
            ReferrerStanding(
                key=r.key,
                clinician_id=clinician,
                organization_id=organization,
                territory_id=territory,
                liaison_id=liaison,
                name=r.name[:200],
                practice=r.practice[:200],
                specialty=specialty,
                segment=r.segment,
                total=r.total,
                monthly=[[m.month.isoformat(), m.count] for m in r.monthly],
                monthly_change=r.monthly_change,
                trend_p=r.trend_p,
                recent_change=r.recent_change,
                seen=r.seen,
                conversion=r.conversion.estimate,
                lines=[[line.service_line, line.count] for line in r.lines],
                first_referral_on=r.first_referral_on
                if r.first_referral_on >= w.months[0]
                else None,
                last_referral_on=r.last_referral_on,
                days_since_last=max(0, r.days_since_last),
                ack_count=served.ack_count if served else 0,
                ack_median_hours=served.ack_median_hours if served else None,
                ack_judged=served.ack_judged if served else 0,
                ack_within_target=served.ack_within_target if served else None,
                reports_judged=served.reports_judged if served else 0,
                reports_on_time=served.reports_on_time if served else None,
                score=round(referrer_score(r, alert, exposures=w.exposures), 6),
                drop_off=alert is not None,
                drop_off_detail=_alert_detail(alert) if alert else None,
                computed_at=now,
            )
        )
        lines[r.key] = [(line.service_line, line.count) for line in r.lines]
    log.info("referrer standings computed: %d referrers, %d alerts", len(rows), len(alerts))
    return rows, lines


def standings_store(
    *, rows: list[ReferrerStanding], lines: dict[str, list[tuple[str, int]]], now: dt.datetime
) -> None:
    """Replace the standings with `rows`, all stamped `now`, in one transaction (pages read the
    old ones until it commits). A referrer already there keeps their row's id (an update), a
    new one gets a new id (an insert), one gone from the window is gone (a delete). Written by
    COPY on PostgreSQL (core.bulk): 50,000 rows through the ORM's bulk upsert took minutes."""
    table = connection.ops.quote_name(ReferrerStanding._meta.db_table)
    lines_table = connection.ops.quote_name(StandingLine._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        known = dict(ReferrerStanding.objects.select_for_update().values_list("key", "pk"))
        next_id = max(known.values(), default=0) + 1
        for row in rows:
            row.computed_at = now
            row.pk = known.get(row.key)
            if row.pk is None:
                row.pk, next_id = next_id, next_id + 1
        cursor.execute(f"DELETE FROM {lines_table}")
        cursor.execute(f"DELETE FROM {table}")
        writer = RowWriter()
        writer.insert(cursor, ReferrerStanding, rows, with_id=True, objects=True)
        ids = {row.key: row.pk for row in rows}
        writer.insert(
            cursor,
            StandingLine,
            [
                {"standing_id": ids[key], "service_line": name, "count": count}
                for key, found in lines.items()
                for name, count in found
            ],
        )
        for sql in connection.ops.sequence_reset_sql(no_style(), [ReferrerStanding]):
            cursor.execute(sql)


def _alert_detail(alert) -> dict:
    return {
        "recent_from": alert.recent_from.isoformat(),
        "recent_count": alert.recent_count,
        "recent_days": round(alert.recent_days, 2),
        "baseline_from": alert.baseline_from.isoformat(),
        "baseline_count": alert.baseline_count,
        "baseline_days": round(alert.baseline_days, 2),
        "expected": round(alert.expected, 2),
        "p_value": alert.p_value,
        "rate_ratio": [alert.rate_ratio.estimate, alert.rate_ratio.low, alert.rate_ratio.high],
        "monthly": [[m.month.isoformat(), m.count] for m in alert.monthly],
        "last_referral_on": alert.last_referral_on.isoformat(),
    }


def _people(keys: list[str], practices: dict[str, str]) -> dict[str, tuple]:
    """key -> (clinician id, organization id, territory id, liaison id, specialty).

    A key is the clinician's NPI, or their id when they have none (analytics.sources builds
    referrer_key so). The organization is the clinician's active practice named as on their
    latest referral, else their first active one; territory and liaison through its
    PracticeAssignment."""
    by_npi = dict(Clinician.objects.filter(npi__in=keys).values_list("npi", "pk"))
    ids = [int(k) for k in keys if k not in by_npi and k.isdigit() and len(k) < 19]
    by_id = {
        str(pk): pk
        for pk in Clinician.objects.filter(Q(npi__isnull=True) | Q(npi=""), pk__in=ids).values_list(
            "pk", flat=True
        )
    }
    clinician_of = {k: by_npi.get(k) or by_id.get(k) for k in keys}
    found = [pk for pk in clinician_of.values() if pk]
    specialty = dict(Clinician.objects.filter(pk__in=found).values_list("pk", "specialty"))
    roles: dict[int, list[tuple[int, str]]] = {}
    for clinician, organization, name in (
        ClinicianRole.objects.filter(clinician_id__in=found, active=True)
        .order_by("pk")
        .values_list("clinician_id", "organization_id", "organization__name")
    ):
        roles.setdefault(clinician, []).append((organization, name))
    orgs = {o for found_roles in roles.values() for o, _ in found_roles}
    territory_of = {
        org: (territory, liaison)
        for org, territory, liaison in PracticeAssignment.objects.filter(
            organization_id__in=orgs
        ).values_list("organization_id", "territory_id", "territory__liaison_id")
    }
    people = {}
    for key, clinician in clinician_of.items():
        if clinician is None:
            continue
        options = roles.get(clinician, [])
        named = [o for o, name in options if name == practices.get(key)]
        organization = (named or [o for o, _ in options] or [None])[0]
        territory, liaison = territory_of.get(organization, (None, None))
        people[key] = (clinician, organization, territory, liaison, specialty.get(clinician, ""))
    return people


# Target lists ------------------------------------------------------------------------------


def target_list_create(*, owner, name: str, criteria: Criteria, shared: bool = False) -> TargetList:
    name = name.strip()
    if not name:
        raise DomainError("A target list needs a name.")
    target_list = TargetList.objects.create(
        owner=owner, name=name[:120], criteria=criteria.to_json(), shared=shared
    )
    log.info("target list %s created by user %s", target_list.pk, owner.pk)
    return target_list


def target_list_update(
    *, target_list: TargetList, user, name: str, criteria: Criteria, shared: bool
) -> TargetList:
    _own(target_list, user)
    name = name.strip()
    if not name:
        raise DomainError("A target list needs a name.")
    target_list.name, target_list.shared = name[:120], shared
    target_list.criteria = criteria.to_json()
    target_list.save(update_fields=["name", "shared", "criteria", "updated_at"])
    log.info("target list %s updated by user %s", target_list.pk, user.pk)
    return target_list


def target_list_delete(*, target_list: TargetList, user) -> None:
    """A list that is a campaign's audience stays (the campaign's record names who it went to)."""
    _own(target_list, user)
    try:
        with transaction.atomic():
            target_list.delete()
    except ProtectedError:
        raise DomainError(
            f"“{target_list.name}” is the audience of a campaign, so it is kept. Stop sharing "
            "it or rename it instead.",
            code="list_in_use",
        ) from None
    log.info("target list %s deleted by user %s", target_list.pk, user.pk)


def _own(target_list: TargetList, user) -> None:
    """Only its owner changes a list (a shared list is read by others, not edited)."""
    if target_list.owner_id != user.pk:
        raise NotAllowed("Only the list's owner can change it.")


# Office staff -----------------------------------------------------------------------------


def office_contact_create(
    *, organization: Organization, name: str, role: str, email: str = "", phone: str = ""
) -> OfficeContact:
    name = name.strip()
    if not name:
        raise DomainError("An office contact needs a name.")
    return OfficeContact.objects.create(
        organization=organization,
        name=name,
        role=role,
        email=email.strip().lower(),
        phone=phone.strip(),
    )


def office_contact_update(
    *, contact: OfficeContact, name: str, role: str, email: str = "", phone: str = ""
) -> OfficeContact:
    name = name.strip()
    if not name:
        raise DomainError("An office contact needs a name.")
    contact.name, contact.role = name, role
    contact.email, contact.phone = email.strip().lower(), phone.strip()
    contact.save(update_fields=["name", "role", "email", "phone"])
    return contact


def office_contact_delete(*, contact: OfficeContact) -> None:
    contact.delete()
