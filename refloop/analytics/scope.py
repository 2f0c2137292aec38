"""What a metric is asked about: a period and the dashboard's filters (Django-free).

A period is a cohort of referrals by the day they were received, [start, end), in the
practice's time zone; `as_of` is the moment "still open" and "stale" are judged at (the end of the
period for a closed month, now for the current one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import polars as pl

FILTER_COLUMNS = ("service_line", "priority", "channel", "practice")


@dataclass(frozen=True)
class Scope:
    start: dt.date
    end: dt.date  # exclusive
    as_of: dt.datetime
    tz: ZoneInfo
    service_lines: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def month(cls, first: dt.date, *, tz: ZoneInfo, as_of: dt.datetime | None = None, **filters):
        end = month_after(first)
        end_at = dt.datetime.combine(end, dt.time.min, tz)
        as_of = min(as_of, end_at) if as_of else end_at
        return cls(start=first, end=end, as_of=as_of, tz=tz, **filters)

    def moment(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, self.tz).astimezone(dt.UTC)

    def shifted(self, *, start: dt.date, end: dt.date) -> Scope:
        """The same filters over another period (last month, the baseline)."""
        end_at = dt.datetime.combine(end, dt.time.min, self.tz)
        return replace(self, start=start, end=end, as_of=min(self.as_of, end_at))

    def filtered(self, facts: pl.DataFrame) -> pl.DataFrame:
        """Facts that match the filters, any period."""
        chosen = {
            "service_line": self.service_lines,
            "priority": self.priorities,
            "channel": self.channels,
            "practice": self.practices,
        }
        for column, values in chosen.items():
            if values:
                facts = facts.filter(pl.col(column).is_in(list(values)))
        return facts

    def cohort(self, facts: pl.DataFrame) -> pl.DataFrame:
        """Facts of the referrals received in the period that match the filters."""
        received = pl.col("received_at")
        return self.filtered(facts).filter(
            (received >= self.moment(self.start)) & (received < self.moment(self.end))
        )


def month_after(first: dt.date) -> dt.date:
    return (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def month_before(first: dt.date) -> dt.date:
    return (first.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
