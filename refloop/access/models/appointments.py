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

    # Patient contact (links, reminders): what the patient did through a link, and when the
    # reminder job should next look at this appointment (null: no reminder left to send).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    reschedule_requested_at = models.DateTimeField(null=True, blank=True)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    reminder_lease_until = models.DateTimeField(null=True, blank=True)
    instructions_letter = models.ForeignKey(
        "referrals.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["referral", "outcome"]),
            # The reminder job's "what is due" read touches only appointments with one pending.
            models.Index(
                fields=["next_reminder_at"],
                condition=Q(next_reminder_at__isnull=False),
                name="appointment_reminder_due",
            ),
        ]
        constraints = [
            # A slot cannot be booked twice: the database refuses the second booking, whoever
            # races for it. A cancelled or rebooked appointment gives its slot back.
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(outcome__in=HOLDS_SLOT),
                name="slot_booked_once",
            )
        ]
