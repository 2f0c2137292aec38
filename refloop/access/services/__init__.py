"""Every write to access. Other apps change access only through these functions."""

from refloop.access.services.appointments import appointment_book, appointment_record_outcome
from refloop.access.services.authorization import (
    authorization_approve,
    authorization_booking_problem,
    authorization_deny,
    authorization_expire,
    authorization_start,
    authorization_submit,
)
from refloop.access.services.contact import contact_attempt_record

__all__ = [
    "appointment_book",
    "appointment_record_outcome",
    # Authorization and patient contact
    "authorization_approve",
    "authorization_booking_problem",
    "authorization_deny",
    "authorization_expire",
    "authorization_start",
    "authorization_submit",
    "contact_attempt_record",
]
