"""The dashboards' filters: a month and the program's codes, read from a GET form so a view can be
shared by its URL. The URL carries codes and the practice's name only, never a patient."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils import timezone

from refloop.analytics.scope import Scope, month_before
from refloop.directory.enums import Priority
from refloop.directory.models import ServiceLine
from refloop.referrals.enums import Channel
from refloop.web.forms import LongSelect

MONTH_YEARS = (1900, 2200)  # the years a dashboard month may be in


def practice_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def last_full_month(now: dt.datetime | None = None) -> dt.date:
    today = timezone.localtime(now or timezone.now(), practice_tz()).date()
    return month_before(today.replace(day=1))


@dataclass(frozen=True)
class Filters:
    """What a dashboard shows: a month of received referrals, narrowed by the filters."""

    month: dt.date
    line: str = ""  # a service line's code (in URLs)
    line_value: str = ""  # the same line as the fact table names it (see fact_line_values)
    priority: str = ""
    channel: str = ""
    practice: str = ""

    def scope(self, *, now: dt.datetime | None = None) -> Scope:
        return Scope.month(
            self.month,
            tz=practice_tz(),
            as_of=now or timezone.now(),
            service_lines=(self.line_value or self.line,) if self.line else (),
            priorities=(self.priority,) if self.priority else (),
            channels=(self.channel,) if self.channel else (),
            practices=(self.practice,) if self.practice else (),
        )

    @property
    def whole_program(self) -> bool:
        return not (self.line or self.priority or self.channel or self.practice)

    def params(self) -> dict[str, str]:
        values = {
            "month": f"{self.month:%Y-%m}",
            "line": self.line,
            "priority": self.priority,
            "channel": self.channel,
            "practice": self.practice,
        }
        return {k: v for k, v in values.items() if v}

    def query(self, **extra) -> str:
        """The URL query of these filters (plus drill-down arguments), for links."""
        return urlencode(self.params() | {k: v for k, v in extra.items() if v not in (None, "")})

    def at(self, month: dt.date) -> Filters:
        return replace(self, month=month)

    def any_line(self) -> Filters:
        return replace(self, line="", line_value="")


def fact_line_values() -> dict[str, str]:
    """Service line code -> the value of the fact table's `service_line` column (its name)."""
    return dict(ServiceLine.objects.values_list("code", "name"))


class DashboardFilterForm(forms.Form):
    month = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"type": "month"}), label="Month received"
    )
    line = forms.ChoiceField(required=False, label="Service line")
    priority = forms.ChoiceField(
        required=False, choices=[("", "All priorities"), *Priority.choices]
    )
    channel = forms.ChoiceField(required=False, choices=[("", "All channels"), *Channel.choices])
    practice = forms.ChoiceField(required=False, label="Referring practice", widget=LongSelect)

    def __init__(self, data=None, *, practices=(), fixed_line: str = ""):
        super().__init__(data, initial={"month": f"{last_full_month():%Y-%m}"})
        self.fixed_line = fixed_line
        self.line_values = fact_line_values()
        if fixed_line:
            del self.fields["line"]
        else:
            lines = sorted(self.line_values.items(), key=lambda item: item[1])
            self.fields["line"].choices = [("", "All service lines"), *lines]
        self.fields["practice"].choices = [("", "All practices")] + [(p, p) for p in practices if p]

    def clean_month(self) -> dt.date:
        text = self.cleaned_data.get("month") or ""
        if not text:
            return last_full_month()
        try:
            month = dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError("Pick a month (YYYY-MM).") from None
        if not MONTH_YEARS[0] <= month.year <= MONTH_YEARS[1]:
            # the trend reaches two years back and the next month must exist (no year 1, 10000)
            raise forms.ValidationError("Pick a month (YYYY-MM).")
        return month

    def filters(self) -> Filters:
        """The filters asked for; anything invalid falls back to its default (all, last month)."""
        if self.is_bound:
            self.is_valid()  # keeps the fields that are valid in cleaned_data
        data = getattr(self, "cleaned_data", {})
        line = self.fixed_line or data.get("line", "")
        return Filters(
            month=data.get("month") or last_full_month(),
            line=line,
            line_value=self.line_values.get(line, ""),
            priority=data.get("priority", ""),
            channel=data.get("channel", ""),
            practice=data.get("practice", ""),
        )
