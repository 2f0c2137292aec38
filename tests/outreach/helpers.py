"""Outreach test data: approved materials and standings written directly."""

import datetime as dt

from django.utils import timezone

from refloop.content.enums import ContentState
from refloop.content.models import ContentItem, ContentVersion
from refloop.relations.models import ReferrerStanding


def material(*, title="Knee pathway sheet", state=ContentState.APPROVED, expires_on=None):
    item = ContentItem.objects.create(kind="service_sheet", title=title)
    if expires_on is None and state == ContentState.APPROVED:
        expires_on = timezone.localdate() + dt.timedelta(days=180)
    return ContentVersion.objects.create(
        item=item, number=1, state=state, body="Whom we see.", expires_on=expires_on
    )


def standing(*, clinician, liaison, drop_off=True, key=None, recent=0, expected=6.2):
    org = clinician.organizations.first()
    return ReferrerStanding.objects.create(
        key=key or clinician.npi,
        clinician=clinician,
        organization=org,
        liaison=liaison,
        name=str(clinician),
        practice=org.name if org else "",
        segment="declining",
        total=40,
        monthly=[["2026-09-01", 5], ["2026-10-01", 1], ["2026-11-01", 0]],
        drop_off=drop_off,
        drop_off_detail={"recent_count": recent, "expected": expected, "p_value": 0.002}
        if drop_off
        else None,
        computed_at=timezone.now(),
    )
