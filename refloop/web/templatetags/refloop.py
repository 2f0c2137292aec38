import datetime as dt

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from refloop.core.models import AccessLogEntry
from refloop.directory.enums import TargetKind, UpdateChannel
from refloop.referrals.enums import ClockStatus, State
from refloop.referrals.models import Referral

register = template.Library()

_CLOCK = dict(ClockStatus.choices)
_TARGET = dict(TargetKind.choices)
_STATE = dict(State.choices)
_ACCESS = dict(AccessLogEntry.Action.choices)


@register.filter
def referral_number(pk: int) -> str:
    """The number of a referral known only by its id (no query for the row)."""
    return Referral(pk=pk).number


@register.filter
def clock_label(code: str | None) -> str:
    return _CLOCK.get(code or "", code or "")


@register.filter
def target_label(code: str) -> str:
    return _TARGET.get(code, code)


@register.filter
def state_label(code: str) -> str:
    return _STATE.get(code, code)


@register.filter
def access_label(code: str) -> str:
    return _ACCESS.get(code, code)


@register.filter
def person(user) -> str:
    if user is None:
        return "System"
    return user.get_full_name() or user.get_username()


@register.filter
def duration(seconds: int | None) -> str:
    """Seconds as days and hours (clock durations)."""
    if seconds is None:
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    days, hours = divmod(hours, 24)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


@register.filter
def target_text(clock) -> str:
    """The clock's target in its own measure: business hours, or calendar days."""
    if clock.unit == "calendar_days":
        days = clock.target_seconds // 86400
        return f"{days} calendar day{'s' if days != 1 else ''}"
    hours = clock.target_seconds // 3600
    kind = "hours around the clock" if clock.around_the_clock else "business hours"
    return f"{hours} {kind}"


def _referral_link(pk) -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("referral_detail", args=[pk]), referral_number(pk)
    )


def _when(value: str) -> str:
    return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


# How each key an event's details may hold reads on the timeline; other keys are not shown
# (appointment_id and the like are for software, not for people).
_DETAIL = {
    "document_id": lambda v, names: format_html(
        '<a href="{}" target="_blank" rel="noopener">open the document</a>',
        reverse("document_view", args=[v]),
    ),
    "appointment_at": lambda v, names: format_html("appointment {}", _when(v)),
    "channel": lambda v, names: format_html("sent by {}", dict(UpdateChannel.choices).get(v, v)),
    "redirected_from": lambda v, names: format_html("redirected from {}", _referral_link(v)),
    "possible_duplicates": lambda v, names: format_html(
        "possible duplicate of {}",
        format_html_join(", ", "{}", ((_referral_link(pk),) for pk in v)),
    ),
    "service_line_id": lambda v, names: format_html("to {}", names.lines.get(v, v)),
    "assignee_id": lambda v, names: format_html(
        "to {}", person(names.people.get(v)) if v else "nobody"
    ),
    "item": lambda v, names: format_html("{}", v),
}


@register.simple_tag
def event_details(details: dict, names) -> str:
    """An event's details as a person reads them, one short phrase per known key; `names` is
    queries.timeline_names for the page."""
    said = [
        (_DETAIL[key](value, names),) for key, value in (details or {}).items() if key in _DETAIL
    ]
    return format_html_join(" · ", "{}", said)
