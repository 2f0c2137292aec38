from django import template

from refloop.core.models import AccessLogEntry
from refloop.directory.enums import TargetKind
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
