import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from tests import factories


def local_day_at(days_ahead: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time `days_ahead` days from today, in the practice's zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    day = timezone.localdate(timezone=zone) + dt.timedelta(days=days_ahead)
    return dt.datetime.combine(day, dt.time(hour, minute), zone)


@pytest.fixture
def referral(line, clinician, intake):
    return factories.referral(line=line, clinician=clinician, actor=intake, last_name="Quill")
