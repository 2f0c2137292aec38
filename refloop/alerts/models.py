from django.conf import settings
from django.db import models

from refloop.referrals.models import Referral


class Alert(models.Model):
    """Something a person should look at: a clock at risk, a breach escalated, records overdue.

    `key` is unique per recipient: the scheduler raises an alert by inserting it, so two
    schedulers (or one run twice) raise it once.
    The text names the referral by number, never the patient."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        URGENT = "urgent", "Urgent"

    key = models.CharField(max_length=160)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.WARNING)
    kind = models.CharField(max_length=40)  # "clock_at_risk", "records_overdue", ...
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at", "created_at"]),
            # The e-mail job's read: only alerts not yet e-mailed.
            models.Index(
                fields=["created_at"],
                condition=models.Q(emailed_at__isnull=True),
                name="alert_to_email",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["key", "recipient"], name="alert_once_per_person")
        ]

    def __str__(self):
        return self.text
