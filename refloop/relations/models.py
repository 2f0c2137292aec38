"""Who looks after which referrers, and the lists liaisons work from.

Liaisons and compliance reviewers work here: referrers (clinicians and practices) and their
monthly counts and rates, never patients (DESIGN.md, Privacy).
"""

from django.conf import settings
from django.db import models

from refloop.relations.enums import ContactRole


class Territory(models.Model):
    """A liaison's patch: the practices they look after."""

    name = models.CharField(max_length=120, unique=True)
    liaison = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="territories",
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "territories"

    def __str__(self):
        return self.name


class TargetList(models.Model):
    """A saved set of referrers to work on, by referral pattern and service-line fit.

    `criteria` holds the filters (relations.queries reads them), so the list follows the numbers:
    a referrer who stops declining leaves a "declining" list by itself."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="target_lists"
    )
    shared = models.BooleanField(default=False, help_text="Other liaisons can use it.")
    criteria = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class PracticeAssignment(models.Model):
    """The territory a referring practice belongs to (its liaison is the territory's)."""

    organization = models.OneToOneField(
        "directory.Organization", on_delete=models.CASCADE, related_name="assignment"
    )
    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="practices")

    def __str__(self):
        return f"{self.organization} in {self.territory}"


class OfficeContact(models.Model):
    """A person at a referring practice who is not a referring clinician: the referral
    coordinator, a practice leader, the office manager. Campaign audiences include them."""

    organization = models.ForeignKey(
        "directory.Organization", on_delete=models.CASCADE, related_name="office_contacts"
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=30, choices=ContactRole.choices)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "role", "name", "id"]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"


class ReferrerStanding(models.Model):
    """A referrer's numbers as analytics last computed them (relations.services refreshes the
    table from analytics.metrics.referrers: nothing here is computed twice). One row per
    referrer key (the facts' `referrer_key`); target lists and profiles read it, so a page at
    50,000 referrers is an indexed query, not a computation."""

    key = models.CharField(max_length=40, unique=True)
    clinician = models.ForeignKey(
        "directory.Clinician",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="standings",
    )
    organization = models.ForeignKey(
        "directory.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    territory = models.ForeignKey(
        Territory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    liaison = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(max_length=200)
    practice = models.CharField(max_length=200, blank=True)
    segment = models.CharField(max_length=12)  # analytics.metrics.referrers.SEGMENTS
    total = models.PositiveIntegerField()  # referrals in the window
    monthly = models.JSONField(default=list)  # [["2026-01-01", 4], ...], every month
    monthly_change = models.FloatField(null=True)
    trend_p = models.FloatField(null=True)
    recent_change = models.FloatField(null=True)
    seen = models.PositiveIntegerField(default=0)
    conversion = models.FloatField(null=True)
    lines = models.JSONField(default=list)  # [["Cardiology", 12], ...], largest first
    first_referral_on = models.DateField(null=True)
    last_referral_on = models.DateField(null=True)
    days_since_last = models.PositiveIntegerField(null=True)
    specialty = models.CharField(max_length=120, blank=True)  # the clinician's, for target lists
    # How we served them in the window (analytics.metrics.referrer_service): acknowledgement
    # median in business hours and the share within target; reports delivered on time.
    ack_count = models.PositiveIntegerField(default=0)
    ack_median_hours = models.FloatField(null=True)
    ack_judged = models.PositiveIntegerField(default=0)
    ack_within_target = models.FloatField(null=True)
    reports_judged = models.PositiveIntegerField(default=0)
    reports_on_time = models.FloatField(null=True)
    # who to work on first (analytics.metrics.referrer_service.referrer_score says how)
    score = models.FloatField(default=0)
    drop_off = models.BooleanField(default=False)
    drop_off_detail = models.JSONField(null=True, blank=True)  # the alert's figures
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-score", "key"]
        indexes = [
            models.Index(fields=["segment", "-score"]),
            models.Index(fields=["liaison", "segment", "-score"]),
            models.Index(fields=["-score", "key"]),
        ]

    def __str__(self):
        return self.name


class StandingLine(models.Model):
    """A service line a referrer used in the window (ReferrerStanding.lines as rows), so a
    target list can select by service-line fit with an index."""

    standing = models.ForeignKey(ReferrerStanding, on_delete=models.CASCADE, related_name="+")
    service_line = models.CharField(max_length=120)
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["service_line", "standing"])]
