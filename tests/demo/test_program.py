"""The demo program's fixed pieces, dated from the practice's local day."""

import datetime as dt

from refloop.core.models import Closure
from refloop.demo.program import closures_create


def test_it_dates_the_closures_from_the_practices_local_day(db):
    # Sunday 2026-12-06 20:30 in New York, already Monday 2026-12-07 in UTC.
    now = dt.datetime(2026, 12, 7, 1, 30, tzinfo=dt.UTC)

    days = closures_create(now)

    # 400 and 130 days back and 24 ahead of Sunday Dec 6, a weekend moved on to its Monday;
    # counted from UTC's Monday the last two would be Thursdays, a day later.
    assert days == [dt.date(2025, 11, 3), dt.date(2026, 7, 29), dt.date(2026, 12, 30)]
    assert sorted(Closure.objects.values_list("date", flat=True)) == days
