"""The document inbox: what arrived by fax, e-mail or a drop folder, before anyone filed it.

An InboxDocument is kept exactly as it came (the original file, the provider's fields), with a PDF
to look at. A coordinator splits it into InboxParts by page range and files each part to a
referral; the part then points at the referrals Document it became. Until every page is filed or
the rest discarded with a reason, the document has a clock of its own (`due_at`), so a fax cannot
sit forgotten.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from refloop.directory.enums import DocumentKind


class Source(models.TextChoices):
    FAX = "fax", "Fax"
    EMAIL = "email", "E-mail"
    FOLDER = "folder", "Drop folder"


class InboxStatus(models.TextChoices):
    UNFILED = "unfiled", "Unfiled"
    PARTLY_FILED = "partly_filed", "Partly filed"
    FILED = "filed", "Filed"
    DISCARDED = "discarded", "Discarded"


# Still waiting for a coordinator: these run the clock and come first in the inbox.
OPEN_STATUSES = (InboxStatus.UNFILED, InboxStatus.PARTLY_FILED)


def inbox_path(instance, filename):
    # No patient name in a path: the date and a random part only (the name the sender gave is
    # kept in `filename`).
    now = timezone.now()
    suffix = filename.rsplit(".", 1)[-1].lower()[:5] if "." in filename else "bin"
    return f"inbox/{now:%Y/%m}/{now:%d%H%M%S}-{secrets.token_hex(6)}.{suffix}"


class InboxDocument(models.Model):
    source = models.CharField(max_length=10, choices=Source.choices)
    # Who delivered it ("phaxio", "imap", "folder") and their id for it: a resent webhook or a
    # mailbox read twice finds the row it made the first time.
    provider = models.CharField(max_length=40)
    provider_id = models.CharField(max_length=200, blank=True)
    sender = models.CharField(max_length=200, blank=True)  # fax number or e-mail address
    recipient = models.CharField(max_length=200, blank=True)  # our fax number or mailbox
    received_at = models.DateTimeField()
    filename = models.CharField(max_length=200, blank=True)
    original = models.FileField(upload_to=inbox_path, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    viewable = models.FileField(upload_to=inbox_path, blank=True)  # PDF of every page
    page_count = models.PositiveSmallIntegerField(default=0)
    # What could not be read, for staff to see; the document is kept all the same.
    error = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)  # the provider's fields as sent
    status = models.CharField(
        max_length=12, choices=InboxStatus.choices, default=InboxStatus.UNFILED
    )
    discard_reason = models.CharField(max_length=300, blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    discarded_at = models.DateTimeField(null=True, blank=True)
    # Its own clock: at risk, then due; next_check_at is when the scheduler looks again.
    at_risk_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(
                fields=["next_check_at"],
                condition=models.Q(next_check_at__isnull=False),
                name="inbox_clock_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="inbox_once_per_provider_id",
            )
        ]

    def __str__(self):
        return f"Inbox document {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def clock_status(self, now=None) -> str | None:
        """on_track, at_risk or breached while open; None once filed or discarded."""
        if not self.is_open or self.due_at is None:
            return None
        now = now or timezone.now()
        if now >= self.due_at:
            return "breached"
        if self.at_risk_at and now >= self.at_risk_at:
            return "at_risk"
        return "on_track"


class InboxPart(models.Model):
    document = models.ForeignKey(InboxDocument, on_delete=models.CASCADE, related_name="parts")
    first_page = models.PositiveSmallIntegerField()
    last_page = models.PositiveSmallIntegerField()
    kind = models.CharField(
        max_length=20, choices=DocumentKind.choices, default=DocumentKind.REFERRAL_LETTER
    )
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    referral_document = models.ForeignKey(
        "referrals.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checklist_item = models.ForeignKey(
        "referrals.ChecklistItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    new_referral = models.BooleanField(default=False)  # filed as the start of a new referral
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "first_page"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_page__gte=1, last_page__gte=models.F("first_page")),
                name="inbox_part_pages_in_order",
            )
        ]

    def __str__(self):
        return f"pages {self.pages_label}"

    @property
    def pages_label(self) -> str:
        if self.first_page == self.last_page:
            return str(self.first_page)
        return f"{self.first_page}–{self.last_page}"

    @property
    def is_filed(self) -> bool:
        return self.filed_at is not None
