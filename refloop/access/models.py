from django.conf import settings
from django.db import models

from refloop.directory.models import Clinician
from refloop.referrals.models import Referral


class Appointment(models.Model):
    """A visit booked for a referral (minimal for now: scheduling calendars come later)."""

    class Outcome(models.TextChoices):
        BOOKED = "booked", "Booked"
        ATTENDED = "attended", "Attended"
        NO_SHOW = "no_show", "No-show"
        CANCELLED = "cancelled", "Cancelled"
        REBOOKED = "rebooked", "Rebooked"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    location = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["referral", "outcome"])]
