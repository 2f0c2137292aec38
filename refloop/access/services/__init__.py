"""Every write to access. Other apps change access only through these functions."""

from refloop.access.services.appointments import (
    appointment_book,
    appointment_no_show_rebook,
    appointment_record_outcome,
    referral_cancel,
)
from refloop.access.services.authorization import (
    authorization_approve,
    authorization_booking_problem,
    authorization_deny,
    authorization_expire,
    authorization_start,
    authorization_submit,
)
from refloop.access.services.calendars import slot_withdraw, slots_generate, tna_measure
from refloop.access.services.contact import contact_attempt_record
from refloop.access.services.instructions import instructions_letter_make, instructions_send
from refloop.access.services.links import patient_link_make, patient_link_use
from refloop.access.services.reminders import reminder_send_due
from refloop.access.services.waitlist import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offers_expire,
    waitlist_slot_freed,
)

__all__ = [
    "appointment_book",
    "appointment_no_show_rebook",
    "appointment_record_outcome",
    "authorization_approve",
    "authorization_booking_problem",
    "authorization_deny",
    "authorization_expire",
    "authorization_start",
    "authorization_submit",
    "contact_attempt_record",
    "instructions_letter_make",
    "instructions_send",
    "patient_link_make",
    "patient_link_use",
    "referral_cancel",
    "reminder_send_due",
    "slot_withdraw",
    "slots_generate",
    "tna_measure",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_offer_accept",
    "waitlist_offers_expire",
    "waitlist_slot_freed",
]
