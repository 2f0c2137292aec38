"""Prior authorization per referral (to be built)."""

import datetime as dt


def authorization_booking_problem(*, referral_id: int, starts_at: dt.datetime) -> str:
    """Why booking a visit at `starts_at` conflicts with the referral's authorization ("" if it
    does not): shown before the booking is made."""
    return ""
