"""Fact rows in the database for page and turnaround tests: real referrals, their facts written
as the fact builder would (only the columns a case is about)."""

import datetime as dt

from django.utils import timezone

from refloop.analytics.models import ReferralFact
from tests import factories

HOUR = 3600


def facts_stored(line, n: int, *, days: float, received_at: dt.datetime | None = None):
    """n referrals of the line with their fact rows written as the fact builder would."""
    received_at = received_at or timezone.now() - dt.timedelta(days=20)
    clinician = factories.referrer()
    for _ in range(n):
        referral = factories.referral(line=line, clinician=clinician)
        ReferralFact.objects.update_or_create(
            referral=referral,
            defaults={
                "service_line": line.name,
                "priority": "routine",
                "received_at": received_at,
                "acknowledged_at": received_at + dt.timedelta(hours=1),
                "acknowledged_gross": 3 * HOUR,
                "acknowledged_net": 3 * HOUR,
                "appointment_at": received_at + dt.timedelta(days=days),
                "days_to_appointment": days,
                "built_at": timezone.now(),
            },
        )
