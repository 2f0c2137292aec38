"""Every write to access. Other apps change access only through these functions."""

from refloop.access.services.appointments import (
    appointment_book,
    appointment_no_show_rebook,
    appointment_record_outcome,
    referral_cancel,
)
from refloop.access.services.calendars import slot_withdraw, slots_generate, tna_measure

__all__ = [
    "appointment_book",
    "appointment_no_show_rebook",
    "appointment_record_outcome",
    "referral_cancel",
    "slot_withdraw",
    "slots_generate",
    "tna_measure",
]
