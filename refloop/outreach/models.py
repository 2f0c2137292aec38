"""Outreach: what a liaison did or plans to do with referring clinicians and their offices."""

from django.conf import settings
from django.db import models

from refloop.directory.models import Clinician, Organization
from refloop.outreach.enums import ActivityKind, ActivityStatus


class Activity(models.Model):
    kind = models.CharField(max_length=30, choices=ActivityKind.choices)
    status = models.CharField(
        max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.PLANNED
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    liaison = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    clinicians = models.ManyToManyField(
        Clinician, through="ActivityAttendee", related_name="activities", blank=True
    )
    topics = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["liaison", "starts_at"])]

    def __str__(self):
        return self.title


class ActivityAttendee(models.Model):
    """A clinician invited to or present at an activity (a touch, when attended)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendees")
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="touches")
    attended = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "clinician"], name="attendee_once")
        ]
