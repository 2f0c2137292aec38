"""Access: appointments and calendars, the waitlist, authorization, patient contact."""

from refloop.access.models.appointments import HOLDS_SLOT, Appointment
from refloop.access.models.authorization import Authorization, AuthorizationStatus, PayerRule
from refloop.access.models.calendars import Slot, SlotTemplate, ThirdNextAvailable, VisitType
from refloop.access.models.contact import ContactAttempt, ContactChannel, ContactOutcome

__all__ = [
    "HOLDS_SLOT",
    "Appointment",
    "Slot",
    "SlotTemplate",
    "ThirdNextAvailable",
    "VisitType",
    # Authorization and patient contact
    "Authorization",
    "AuthorizationStatus",
    "ContactAttempt",
    "ContactChannel",
    "ContactOutcome",
    "PayerRule",
]
