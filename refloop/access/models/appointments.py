from django.conf import settings
from django.db import models
from django.db.models import Q

from refloop.access.models.calendars import Slot
from refloop.directory.models import Clinician
from refloop.referrals.models import Referral

# Outcomes of an appointment that keep its slot taken.
HOLDS_SLOT = ("booked", "attended", "no_show")


class Appointment(models.Model):
    """A visit booked for a referral: on a slot of our calendar, or recorded by hand (a practice
    that books in its EHR, or a visit outside the calendar)."""

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
    slot = models.ForeignKey(
        Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["referral", "outcome"])]
        constraints = [
            # A slot cannot be booked twice: the database refuses the second booking, whoever
            # races for it. A cancelled or rebooked appointment gives its slot back.
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(outcome__in=HOLDS_SLOT),
                name="slot_booked_once",
            )
        ]
