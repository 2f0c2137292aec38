"""Import sources (a system's saved mapping), import runs (a file as uploaded, processed in
chunks with a cursor) and the rows they could not take (quarantined with the reason)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ImportSource(models.Model):
    """A system whose exports we import. `mapping` says what each of its files means:

        {"columns": {"<our field>": "<their column>", ...},
         "values": {"<our field>": {"<their value>": "<our value>", ...}, ...},
         "date_formats": ["%m/%d/%Y", ...], "datetime_formats": ["%m/%d/%Y %H:%M", ...]}

    Our fields are listed in interop.files.rows.FIELDS."""

    name = models.CharField(max_length=120, unique=True)
    mapping = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def sender_system(self) -> str:
        return f"import:{self.name}"[:120]


def import_file_path(instance, filename):
    # Opaque names: a file name may carry PHI ("smith_john_referrals.csv").
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    dot = filename.rfind(".")
    suffix = filename[dot:].lower()[:6] if dot > 0 else ""
    return f"imports/{stamp}{suffix}"


class ImportRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(ImportSource, on_delete=models.PROTECT, related_name="runs")
    # The file exactly as uploaded, kept before anything is read from it.
    file = models.FileField(upload_to=import_file_path)
    file_format = models.CharField(max_length=8)  # csv, xlsx
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)  # also the cursor: rows committed so far
    created = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)  # why a run failed (no PHI: codes and row numbers)
    # Whoever works on the run holds it with a lease; a killed worker's lease runs out and a
    # resume takes the run over (core.scheduling).
    lease_until = models.DateTimeField(null=True, blank=True)
    owner = models.CharField(max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import {self.pk}"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.rows_done / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}


class QuarantinedRow(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        REIMPORTED = "reimported", "Re-imported"
        DISMISSED = "dismissed", "Dismissed"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="quarantine")
    row_number = models.PositiveIntegerField()  # the line in the file (the header is line 1)
    raw = models.JSONField()  # the row as given: {their column: their text}
    reasons = models.JSONField(default=list)
    corrected = models.JSONField(default=dict, blank=True)  # the values a person corrected
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    dismiss_reason = models.CharField(max_length=300, blank=True)
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "row_number"]
        constraints = [
            # A chunk done twice (after a crash) cannot quarantine its rows twice.
            models.UniqueConstraint(fields=["run", "row_number"], name="quarantine_row_once"),
        ]
        indexes = [
            models.Index(
                fields=["run", "row_number"], condition=Q(status="open"), name="quarantine_open"
            )
        ]

    def __str__(self):
        return f"Run {self.run_id} row {self.row_number}"

    @property
    def values(self) -> dict:
        """The row as it will be imported: the corrections over what was given."""
        return {**self.raw, **self.corrected}
