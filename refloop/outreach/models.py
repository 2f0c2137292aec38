"""Outreach: what a liaison did or plans to do with referring clinicians and their offices.

Liaisons work here on referrers and their offices, never on patients (DESIGN.md, Privacy): an
activity names clinicians, office staff and topics, never a referral.
"""

from django.conf import settings
from django.db import models

from refloop.content.models import ContentVersion
from refloop.directory.models import Clinician, Organization
from refloop.outreach.enums import ActivityKind, ActivityStatus, FollowUpKind, InvitationStatus


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
    # Office staff met (referral coordinators, practice leaders): those on file, and anyone
    # else as "name, role", one a line.
    contacts = models.ManyToManyField(
        "relations.OfficeContact", related_name="activities", blank=True
    )
    office_staff = models.TextField(blank=True)
    topics = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    # Approved materials used: only versions usable on the activity's date (services check it).
    materials = models.ManyToManyField(ContentVersion, related_name="activities", blank=True)
    # Events and webinars.
    place = models.CharField(max_length=300, blank=True)
    join_link = models.URLField(blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    registration_token = models.CharField(max_length=40, unique=True, null=True, blank=True)
    target_list = models.ForeignKey(
        "relations.TargetList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
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


class ActivityChange(models.Model):
    """The audit trail of an activity: every status change and edit, who and when."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]


class FollowUp(models.Model):
    """A liaison's task: a follow-up after an activity, or a call a drop-off alert asks for.

    `key` makes a task written by a job unique (a drop-off alert: "drop_off:<referrer>:<month>"),
    so a job run twice, or by two schedulers, writes it once."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_ups"
    )
    due_on = models.DateField()
    kind = models.CharField(
        max_length=10, choices=FollowUpKind.choices, default=FollowUpKind.FOLLOW_UP
    )
    clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.CASCADE, related_name="follow_ups"
    )
    referrer_key = models.CharField(max_length=40, blank=True)
    text = models.TextField()
    figures = models.JSONField(default=dict, blank=True)  # a drop-off alert's figures
    key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "done_at", "due_on"])]

    def __str__(self):
        return self.text[:60]


class Invitation(models.Model):
    """An e-mail inviting one address to an event; `token` is its registration link."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()  # lower-case
    name = models.CharField(max_length=200, blank=True)
    clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "relations.OfficeContact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.CharField(max_length=40, unique=True)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.QUEUED
    )
    status_reason = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "email"], name="invitation_once")
        ]


class Registration(models.Model):
    """Someone who registered for an event (by an invitation's link or the event's open link),
    and whether they came."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="registrations")
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="registration"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()  # lower-case
    office = models.CharField(max_length=200, blank=True)
    registered_at = models.DateTimeField()
    attended = models.BooleanField(null=True)  # None: not recorded yet
    # The event was cancelled and they were told (set by the one sender that claimed it).
    cancel_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registered_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "email"], name="registration_once")
        ]
