"""Access: appointments and calendars, the waitlist, authorization, patient contact."""

from refloop.access.models.appointments import HOLDS_SLOT, Appointment
from refloop.access.models.calendars import Slot, SlotTemplate, ThirdNextAvailable, VisitType

__all__ = ["HOLDS_SLOT", "Appointment", "Slot", "SlotTemplate", "ThirdNextAvailable", "VisitType"]
