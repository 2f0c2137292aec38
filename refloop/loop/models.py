from django.conf import settings
from django.db import models
from django.db.models import Q

from refloop.core.models import EventCursorBase
from refloop.directory.enums import UpdateChannel
from refloop.directory.models import ServiceLine
from refloop.referrals.models import Document, Referral


class ReportSent(models.Model):
    """The consult report sent back to the referrer: it closes the referral. Delivery and the
    referrer's acknowledgement are kept apart from sending, because loop closure (CMS50) counts
    what reached the referrer."""

    # The report goes by one of the channels a referrer can prefer for updates.
    Channel = UpdateChannel

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="reports_sent")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The message that carried it (none when staff recorded a report sent outside Refloop).
    message = models.ForeignKey(
        "messaging.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [
            # loop.jobs.reports_delivery: recent reports still waiting for a confirmation.
            models.Index(
                fields=["sent_at", "id"],
                condition=Q(delivered_at__isnull=True),
                name="report_sent_undelivered",
            )
        ]


class ReportAcknowledgement(models.Model):
    """A single-use link on the report's cover ("Acknowledge receipt"). Only the token's hash is
    kept: a database reader cannot forge an acknowledgement."""

    report_sent = models.ForeignKey(
        ReportSent, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class LoopSettings(models.Model):
    """What a service line tells referrers beyond the directory's fields."""

    service_line = models.OneToOneField(
        ServiceLine, on_delete=models.CASCADE, related_name="loop_settings"
    )
    decline_alternatives = models.TextField(
        blank=True,
        help_text="'Other options' printed on decline letters (other services, self-referral...).",
    )

    class Meta:
        verbose_name = verbose_name_plural = "loop settings"

    def __str__(self):
        return f"Loop settings of {self.service_line}"


class RecordsRequest(models.Model):
    """Missing checklist items asked of the referrer; asked again and escalated by the scheduler
    (loop.jobs.records_asks) until the checklist is complete."""

    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, related_name="records_requests"
    )
    items = models.JSONField(default=list)  # checklist item names, as last asked
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_asked_at = models.DateTimeField()
    asked_at = models.DateTimeField()
    ask_count = models.PositiveSmallIntegerField(default=0)
    next_ask_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_asked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_records_request",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_ask_at"],
                condition=Q(resolved_at__isnull=True),
                name="records_request_due",
            )
        ]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class EventCursor(EventCursorBase):
    """The loop's reader of the referral events (status updates to referrers)."""


class ReportTemplate(models.Model):
    """The starting text of each section of a service line's consult report."""

    service_line = models.OneToOneField(
        ServiceLine, on_delete=models.CASCADE, related_name="report_template"
    )
    findings = models.TextField(blank=True)
    recommendations = models.TextField(blank=True)
    next_steps = models.TextField(blank=True)
    whom_to_call = models.TextField(blank=True)

    def __str__(self):
        return f"Report template of {self.service_line}"


# The report's sections, in order: (field, heading). Templates and reports share them.
REPORT_SECTIONS = (
    ("findings", "Findings"),
    ("recommendations", "Recommendations"),
    ("next_steps", "Next steps"),
    ("whom_to_call", "Whom to call"),
)


class ConsultReport(models.Model):
    """The report written in the app: a draft until it is sent, then final and unchangeable."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINAL = "final", "Final"

    referral = models.OneToOneField(
        Referral, on_delete=models.CASCADE, related_name="consult_report"
    )
    template = models.ForeignKey(
        ReportTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    findings = models.TextField(blank=True)
    recommendations = models.TextField(blank=True)
    next_steps = models.TextField(blank=True)
    whom_to_call = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    finalised_at = models.DateTimeField(null=True, blank=True)
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )


class FollowUpTemplateItem(models.Model):
    """Something that must happen after the visit (results reviewed, letter to the patient...)."""

    service_line = models.ForeignKey(
        ServiceLine, on_delete=models.CASCADE, related_name="follow_up_items"
    )
    name = models.CharField(max_length=120)
    due_after_days = models.PositiveSmallIntegerField(
        default=5, help_text="Business days after the visit."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["service_line", "position", "id"]

    def __str__(self):
        return self.name


class FollowUpItem(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="follow_ups")
    name = models.CharField(max_length=120)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alerted_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["referral", "name"], name="follow_up_once")]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(done_at__isnull=True, alerted_at__isnull=True),
                name="follow_up_due",
            )
        ]

    def is_overdue(self, now) -> bool:
        return self.done_at is None and self.due_at <= now
