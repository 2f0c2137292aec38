"""Every write to access. Other apps change access only through these functions."""

from refloop.access.services.appointments import appointment_book, appointment_record_outcome

__all__ = ["appointment_book", "appointment_record_outcome"]
