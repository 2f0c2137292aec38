"""Parsing FHIR search parameter values: dates with prefixes, tokens, references. A value that
cannot be read raises BadParameter naming the parameter and the value."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from refloop.core.errors import DomainError

DATE_PREFIXES = ("eq", "ge", "gt", "le", "lt")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class BadParameter(DomainError):
    status = 400
    code = "invalid"


def date_range(name: str, text: str) -> tuple[str, dt.datetime, dt.datetime]:
    """(prefix, start, end) of a date search value: the value's own precision gives the interval
    [start, end), in the practice's time zone when it has no time of day."""
    prefix = text[:2] if text[:2] in DATE_PREFIXES else "eq"
    value = text[2:] if text[:2] in DATE_PREFIXES else text
    match = _PARTIAL_DATE.match(value)
    if match:
        year, month, day = match.groups()
        start = dt.datetime(int(year), int(month or 1), int(day or 1))
        if day:
            end = start + dt.timedelta(days=1)
        elif month:
            end = (start + dt.timedelta(days=32)).replace(day=1)
        else:
            end = start.replace(year=start.year + 1)
        zone = timezone.get_default_timezone()
        return prefix, timezone.make_aware(start, zone), timezone.make_aware(end, zone)
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise BadParameter(
            f"{name}: {text!r} is not a date (YYYY, YYYY-MM, YYYY-MM-DD or instant)."
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return prefix, moment, moment + dt.timedelta(seconds=1)


def date_lookup(field: str, name: str, text: str) -> dict:
    """Django lookups for one date value on `field`."""
    prefix, start, end = date_range(name, text)
    return {
        "eq": {f"{field}__gte": start, f"{field}__lt": end},
        "ge": {f"{field}__gte": start},
        "gt": {f"{field}__gte": end},
        "le": {f"{field}__lt": end},
        "lt": {f"{field}__lt": start},
    }[prefix]


def token(text: str) -> tuple[str | None, str]:
    """(system, code): 'system|code', '|code' (system absent: ''), or 'code' (any system: None)."""
    if "|" in text:
        system, _, code = text.partition("|")
        return system, code
    return None, text


def reference_id(name: str, text: str, *types: str) -> int:
    """The id in 'Type/123', '123' or a full URL ending so; the type must be one of `types`."""
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] not in types:
        raise BadParameter(f"{name}: {text!r} must reference {' or '.join(types)}.")
    return integer_id(name, parts[-1])


def integer_id(name: str, text: str) -> int:
    if not text.isdigit():
        # An id we never hand out: matches nothing (ids are our primary keys).
        return 0
    return int(text)
