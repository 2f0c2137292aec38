from django.conf import settings
from django.db import models


class Closure(models.Model):
    """A day the practice is closed beyond weekends and federal holidays (snow day, retreat)."""

    date = models.DateField(unique=True)
    description = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.description}"


class AccessLogEntry(models.Model):
    """One read of a patient, referral or document by a person. Append-only: a trigger refuses
    UPDATE and DELETE (migration 0002)."""

    class Action(models.TextChoices):
        VIEW = "view", "viewed"
        SEARCH = "search", "searched"
        DOWNLOAD = "download", "downloaded a document"
        LIST = "list", "listed"
        ADMIN = "admin", "viewed in admin"
        EXPORT = "export", "exported"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(max_length=150)  # kept even if the account is renamed
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=40)  # "patient", "referral", "document"
    object_id = models.CharField(max_length=64)
    patient_id = models.BigIntegerField(null=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)  # URLs carry ids only, never PHI

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["user", "at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]
        verbose_name_plural = "access log entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}"


class RolePermissions(models.Model):
    """Holds the permissions roles are made of; it has no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_phi", "See patient data"),
            ("receive_referral", "Receive referrals and complete records"),
            ("triage_referral", "Accept, decline or redirect referrals"),
            ("schedule_referral", "Book appointments and record outcomes"),
            ("close_referral", "Send the consult report"),
            ("cancel_referral", "Cancel referrals"),
            ("assign_referral", "Assign referrals to people"),
            ("correct_event", "Record correction events"),
            ("view_access_log", "Review the access log"),
            ("view_aggregates", "See program counts and rates"),
            ("review_content", "Review outreach content"),
            ("do_outreach", "Plan and log outreach, keep target lists, run campaigns"),
            ("decide_access_hold", "Release or keep campaigns held for access"),
            ("approve_gifts", "Approve planned gifts and track repayment"),
            ("edit_gift_limits", "Enter the yearly gift limits CMS publishes"),
        ]


class JobRun(models.Model):
    """One run of a periodic job for one period (a day, say): the unique key lets exactly one
    scheduler take it, however many run at once."""

    job = models.CharField(max_length=60)
    period = models.CharField(max_length=40)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField()
    owner = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "period"], name="job_run_unique")]

    def __str__(self):
        return f"{self.job} {self.period}"


class EventCursorBase(models.Model):
    """How far a reader of the referral events (the outbox, DESIGN.md) has got, claimed with a
    lease so that one scheduler at a time advances it. Each reading app keeps its own table."""

    name = models.CharField(max_length=60, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.name} at event {self.last_event_id}"
