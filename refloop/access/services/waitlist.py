"""The waitlist: patients who would take an earlier slot (to be built)."""

import datetime as dt


def waitlist_slot_freed(*, slot_id: int, now: dt.datetime | None = None) -> int:
    """A booked slot in the future became free: offer it to the waitlist. Returns offers made."""
    return 0
