"""Access: appointments and calendars, the waitlist, authorization, patient contact."""

from refloop.access.models.appointments import HOLDS_SLOT, Appointment
from refloop.access.models.authorization import Authorization, AuthorizationStatus, PayerRule
from refloop.access.models.calendars import Slot, SlotTemplate, ThirdNextAvailable, VisitType
from refloop.access.models.contact import ContactAttempt, ContactChannel, ContactOutcome
from refloop.access.models.patients import (
    PatientLink,
    ServiceLineInstruction,
    WaitlistEntry,
    WaitlistOffer,
)

__all__ = [
    "HOLDS_SLOT",
    "Appointment",
    "PatientLink",
    "ServiceLineInstruction",
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
    "WaitlistEntry",
    "WaitlistOffer",
]
