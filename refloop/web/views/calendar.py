"""A service line's calendar for schedulers and managers, and the free slots the referral page
offers. Referral numbers only, never a patient: the calendar page writes no access log."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from django.shortcuts import render
from django.utils import timezone

from refloop.access.queries import calendar_slots, free_slots, is_urgent, tna_for_line
from refloop.access.services.appointments import hand_entry_allowed
from refloop.directory.models import ServiceLine
from refloop.web.views import requires

CALENDAR_DAYS = 14
BOOKING_ACTIONS = ("book", "no_show_rebook")


def _local_day(slot) -> dt.date:
    return timezone.localtime(slot.starts_at).date()


def _by_day(slots) -> list[tuple[dt.date, list]]:
    return [(day, list(group)) for day, group in groupby(slots, key=_local_day)]


def booking_choices(referral, user, forms) -> dict | None:
    """What the booking forms of the referral page offer: free slots grouped by day (for an
    urgent or stat referral, those held for urgent referrals first), and whether a time may be
    typed in by hand. None when no booking action is open to this user."""
    if not any(name in forms for name in BOOKING_ACTIONS):
        return None
    line = referral.service_line
    slots = free_slots(referral=referral) if line.uses_calendar else []
    if is_urgent(referral.priority):
        held = [s for s in slots if s.held_for_urgent]
        groups = [
            ("Held for urgent referrals", True, _by_day(held)),
            ("Other free slots", False, _by_day([s for s in slots if not s.held_for_urgent])),
        ]
    else:
        groups = [("Free slots", False, _by_day(slots))]
    return {
        "uses_calendar": line.uses_calendar,
        "groups": [group for group in groups if group[2]],
        "hand_entry": hand_entry_allowed(service_line=line, actor=user),
    }


def _chosen_line(request, lines: list[ServiceLine]) -> ServiceLine | None:
    wanted = request.GET.get("line", "")
    by_id = {str(line.pk): line for line in lines}
    if wanted in by_id:
        return by_id[wanted]
    return next((line for line in lines if line.uses_calendar), lines[0] if lines else None)


@requires("schedule_referral")
def calendar(request):
    """The next two weeks of slots per clinician (free, booked by referral number, held), and
    the line's third next available."""
    lines = list(ServiceLine.objects.filter(active=True).only("id", "name", "uses_calendar"))
    line = _chosen_line(request, lines)
    context = {"lines": lines, "line": line, "clinicians": [], "tna": None}
    if line is not None and line.uses_calendar:
        start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        slots = calendar_slots(
            service_line_id=line.pk, start=start, end=start + dt.timedelta(days=CALENDAR_DAYS)
        )
        context["clinicians"] = [
            (clinician, [(day, list(g)) for day, g in groupby(group, key=_local_day)])
            for clinician, group in groupby(slots, key=lambda s: s.clinician)
        ]
        context["tna"] = tna_for_line(service_line_id=line.pk)
        context["days"] = CALENDAR_DAYS
    return render(request, "web/calendar.html", context)
