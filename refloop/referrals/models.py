from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from refloop.directory.enums import DocumentKind, Priority, TargetKind, TargetUnit
from refloop.directory.models import Clinician, Organization, Patient, ServiceLine
from refloop.referrals.enums import (
    OPEN_STATES,
    BlockerKind,
    Channel,
    ChecklistStatus,
    ClockStatus,
    EventKind,
    State,
)

NUMBER_PREFIX = "R-"


class Referral(models.Model):
    # Foreign keys whose lookups an index below already serves (its first column) get no index of
    # their own: every index is one more entry to write per referral (migration 0006).
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="referrals", db_index=False
    )
    referring_clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals_sent"
    )
    referring_organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_sent",
        db_index=False,
    )
    # What the sender said about themselves, kept when they are not (yet) in the directory.
    referrer_as_given = models.CharField(max_length=300, blank=True)
    service_line = models.ForeignKey(
        ServiceLine, on_delete=models.PROTECT, related_name="referrals", db_index=False
    )
    receiving_clinician = models.ForeignKey(
        Clinician,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_received",
        db_index=False,  # mostly empty: indexed where set (Meta)
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    reason = models.TextField()
    diagnoses = models.JSONField(default=list, blank=True)  # ICD-10-CM codes
    channel = models.CharField(max_length=10, choices=Channel.choices)
    sender_system = models.CharField(max_length=120, blank=True)
    sender_reference = models.CharField(max_length=120, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    redirected_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="redirected_from",
        db_index=False,  # mostly empty: indexed where set (Meta)
    )

    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    # Bumped by every change: a form carries the version it saw, so two people cannot both win.
    version = models.PositiveIntegerField(default=1)
    outcome_reason = models.CharField(max_length=30, blank=True)  # coded reason of the last end

    received_at = models.DateTimeField()
    state_changed_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    appointment_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The earliest moment a running clock is due / at risk: the worklist sorts and filters on them.
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_at_risk_at = models.DateTimeField(null=True, blank=True)
    open_blocker_count = models.PositiveSmallIntegerField(default=0)
    # When background work should next look at this referral (clock alerts, stale checks): every
    # change sets it to now; the scheduler sets it to the next moment something could fall due.
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The worklist's order over open referrals only: its first page is read straight
            # off this index instead of sorting every open referral.
            models.Index(
                fields=["next_due_at", "received_at", "id"],
                condition=Q(state__in=OPEN_STATES),
                name="referral_worklist_order",
            ),
            # The worklist's counts per state, read from the index alone (no table visits).
            models.Index(
                fields=["state", "id"],
                condition=Q(state__in=OPEN_STATES),
                name="referral_open_state_count",
            ),
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="referral_next_check",
            ),
            models.Index(fields=["state", "next_due_at"]),
            models.Index(fields=["service_line", "state", "next_due_at"]),
            models.Index(fields=["assignee", "state", "next_due_at"]),
            models.Index(fields=["referring_organization", "state"]),
            models.Index(fields=["received_at"]),
            models.Index(fields=["patient", "service_line"]),
            # Mostly empty columns, indexed where set: a lookup by a value (`= x`, `IN (...)`)
            # implies it is set, so these serve it.
            models.Index(
                fields=["receiving_clinician"],
                condition=Q(receiving_clinician__isnull=False),
                name="referral_receiving_clinician",
            ),
            models.Index(
                fields=["redirected_to"],
                condition=Q(redirected_to__isnull=False),
                name="referral_redirected_to",
            ),
        ]
        constraints = [
            # A resend is recognised by the sender's identifier.
            models.UniqueConstraint(
                fields=["sender_system", "sender_reference"],
                condition=~Q(sender_reference=""),
                name="referral_sender_reference_unique",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False),
                name="closed_has_closed_at",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"{NUMBER_PREFIX}{self.pk:07d}" if self.pk else "(new)"

    @staticmethod
    def pk_from_number(text: str) -> int | None:
        text = text.strip().upper()
        if text.startswith(NUMBER_PREFIX):
            text = text[len(NUMBER_PREFIX) :]
        return int(text) if text.isdigit() else None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def ready_to_schedule(self) -> bool:
        return self.state == State.ACCEPTED and self.open_blocker_count == 0

    def clock_status(self, now=None) -> str | None:
        """The worst status of the running clocks, from the two times kept on the row."""
        now = now or timezone.now()
        if self.next_due_at is None:
            return None
        if self.next_due_at <= now:
            return ClockStatus.BREACHED
        if self.next_at_risk_at and self.next_at_risk_at <= now:
            return ClockStatus.AT_RISK
        return ClockStatus.ON_TRACK


class ReferralEvent(models.Model):
    """Append-only: a trigger refuses UPDATE and DELETE (migration 0002). A mistake is undone by
    a correction event that points at it."""

    # Indexed by (referral, occurred_at) below.
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_state = models.CharField(max_length=12, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=12, choices=State.choices, blank=True)
    code = models.CharField(max_length=40, blank=True)  # reason, milestone or blocker code
    note = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        db_index=False,  # mostly empty: indexed where set (Meta)
    )
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["referral", "occurred_at"]),
            models.Index(fields=["recorded_at"]),
            models.Index(
                fields=["corrects"],
                condition=Q(corrects__isnull=False),
                name="event_corrects",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.from_state}->{self.to_state} {self.code}"


class ReferralBlocker(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="blockers")
    kind = models.CharField(max_length=30, choices=BlockerKind.choices)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_blocker_per_kind",
            )
        ]
        indexes = [models.Index(fields=["kind", "resolved_at"])]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class ReferralClock(models.Model):
    """One response target running for one referral (DESIGN.md, Clocks).

    Durations are in the target's own measure: business seconds for business-hour targets,
    elapsed seconds for stat targets and for days to appointment."""

    # Indexed by the unique (referral, kind) below.
    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, related_name="clocks", db_index=False
    )
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    unit = models.CharField(max_length=20, choices=TargetUnit.choices)
    around_the_clock = models.BooleanField(default=False)
    target_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)  # null while paused or stopped
    at_risk_at = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0)
    stopped_at = models.DateTimeField(null=True, blank=True)
    gross_seconds = models.PositiveIntegerField(null=True, blank=True)
    net_seconds = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=ClockStatus.choices, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "kind"], name="one_clock_per_kind"),
        ]

    def status(self, now=None) -> str:
        if self.stopped_at:
            return self.outcome
        if self.paused_since:
            return ClockStatus.PAUSED
        now = now or timezone.now()
        if self.due_at <= now:
            return ClockStatus.BREACHED
        if self.at_risk_at <= now:
            return ClockStatus.AT_RISK
        return ClockStatus.ON_TRACK


def document_path(instance, filename):
    # Opaque names: a path must not carry PHI such as the patient's name.
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    return f"referrals/{instance.referral_id}/{stamp}-{instance.kind}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower()[:6] if dot > 0 else ""


class Document(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    title = models.CharField(max_length=200, blank=True)
    original = models.FileField(upload_to=document_path)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    # A TIFF fax is converted to PDF for viewing; the original is kept as it came.
    viewable = models.FileField(upload_to=document_path, blank=True)
    pages = models.PositiveSmallIntegerField(default=1)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.title or self.get_kind_display()


class ChecklistItem(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="checklist")
    name = models.CharField(max_length=120)
    document_kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    status = models.CharField(
        max_length=10, choices=ChecklistStatus.choices, default=ChecklistStatus.REQUIRED
    )
    document = models.ForeignKey(
        Document,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,  # empty until a document comes: indexed where set (Meta)
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["document"],
                condition=Q(document__isnull=False),
                name="checklist_document",
            )
        ]


class InternalNote(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
