from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from refloop.directory.enums import (
    DocumentKind,
    OrganizationKind,
    Priority,
    TargetKind,
    TargetUnit,
    UpdateChannel,
)
from refloop.directory.validators import validate_npi


class InsurancePlan(models.Model):
    payer = models.CharField(max_length=120)
    plan = models.CharField(max_length=120)

    class Meta:
        ordering = ["payer", "plan"]
        constraints = [models.UniqueConstraint(fields=["payer", "plan"], name="plan_unique")]

    def __str__(self):
        return f"{self.payer} — {self.plan}"


class ServiceLine(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    acceptance_criteria = models.TextField(blank=True)
    exclusions = models.TextField(blank=True)
    patient_instructions = models.TextField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    fax = models.CharField(max_length=30, blank=True)
    secure_email = models.EmailField(blank=True)
    plans_accepted = models.ManyToManyField(InsurancePlan, blank=True, related_name="service_lines")
    active = models.BooleanField(default=True)

    # How the service line runs access and the loop (issue 3). Business days count the practice
    # calendar; hours in offers are elapsed hours.
    uses_calendar = models.BooleanField(
        default=True,
        help_text="Book from Refloop's slots. Off: booked in the EHR and recorded here.",
    )
    waitlist_offer_count = models.PositiveSmallIntegerField(
        default=3, help_text="How many waiting patients are offered a freed slot at once."
    )
    waitlist_offer_hours = models.PositiveSmallIntegerField(
        default=4, help_text="Hours a waitlist offer stays open."
    )
    no_show_limit = models.PositiveSmallIntegerField(
        default=2, help_text="No-shows after which the referral is cancelled."
    )
    contact_attempt_limit = models.PositiveSmallIntegerField(
        default=3,
        help_text="Failed contact attempts before cancelling as unreachable.",
    )
    contact_attempt_days = models.PositiveSmallIntegerField(
        default=5, help_text="...spread over at least this many business days."
    )
    reminder_days = models.CharField(
        max_length=40, default="7,2", help_text="Days before the visit that reminders go out."
    )
    records_reask_days = models.PositiveSmallIntegerField(
        default=2, help_text="Business days before missing records are asked for again."
    )
    records_escalate_days = models.PositiveSmallIntegerField(
        default=5, help_text="Business days of missing records before the manager is told."
    )
    authorization_target_hours = models.PositiveSmallIntegerField(
        default=72, help_text="Business hours a payer's authorization decision may take."
    )
    escalate_after_hours = models.PositiveSmallIntegerField(
        default=8, help_text="Business hours after a breach before the manager is alerted."
    )
    stale_after_days = models.PositiveSmallIntegerField(
        default=14, help_text="Calendar days in one state before a referral is called stale."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ChecklistTemplateItem(models.Model):
    """A document the service line needs before it books (the required-documents checklist)."""

    service_line = models.ForeignKey(
        ServiceLine, on_delete=models.CASCADE, related_name="checklist"
    )
    name = models.CharField(max_length=120)
    document_kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["service_line", "position", "id"]

    def __str__(self):
        return self.name


class ResponseTarget(models.Model):
    """One clock target of a service line for one priority (DESIGN.md, Clocks)."""

    service_line = models.ForeignKey(ServiceLine, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    amount = models.PositiveIntegerField()
    unit = models.CharField(max_length=20, choices=TargetUnit.choices)

    class Meta:
        ordering = ["service_line", "priority", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_line", "priority", "kind"], name="target_unique"
            ),
            # Days to appointment are calendar days; every other target is in hours.
            models.CheckConstraint(
                condition=Q(kind="appointment", unit="calendar_days")
                | (~Q(kind="appointment") & Q(unit="business_hours")),
                name="target_unit_fits_kind",
            ),
        ]

    def __str__(self):
        return f"{self.service_line} {self.priority} {self.kind}: {self.amount} {self.unit}"


class Organization(models.Model):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=OrganizationKind.choices)
    in_network = models.BooleanField(default=False)
    npi = models.CharField(max_length=10, blank=True, validators=[validate_npi])
    phone = models.CharField(max_length=30, blank=True)
    fax = models.CharField(max_length=30, blank=True)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name


class Clinician(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    credentials = models.CharField(max_length=30, blank=True)  # MD, DO, NP, PA
    npi = models.CharField(
        max_length=10, null=True, blank=True, unique=True, validators=[validate_npi]
    )
    specialty = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    fax = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    direct_address = models.EmailField(blank=True)
    preferred_update_channel = models.CharField(
        max_length=10, choices=UpdateChannel.choices, default=UpdateChannel.FAX
    )
    # Status updates once a day in one message instead of one message per milestone.
    updates_as_digest = models.BooleanField(default=False)
    organizations = models.ManyToManyField(
        Organization, through="ClinicianRole", related_name="clinicians"
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self):
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.first_name} {self.last_name}{suffix}"

    @property
    def verified(self) -> bool:
        return bool(self.npi)


class ClinicianRole(models.Model):
    """A clinician's role at an organization (referring physician, staff specialist...)."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="roles")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    title = models.CharField(max_length=120, default="Physician")
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinician", "organization"], name="clinician_role_unique"
            )
        ]

    def __str__(self):
        return f"{self.clinician} at {self.organization}"


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    mrn = models.CharField("MRN", max_length=30, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    preferred_language = models.CharField(max_length=40, default="English")
    interpreter_needed = models.BooleanField(default=False)
    sms_consent = models.BooleanField(default=False)
    email_consent = models.BooleanField(default=False)
    # STOP (or any way of saying it) sets this; it outranks consent until the patient opts in again.
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=40, blank=True, help_text="Blank: the practice's time zone."
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["birth_date"]),
            # A file import matches a chunk's patients by name and date of birth in one query
            # (referrals_receive_bulk): without this it reads everyone born on those days,
            # a fifth of all patients per chunk once the table is large.
            models.Index(Lower("last_name"), "birth_date", name="patient_last_lower_birth"),
        ]

    def __str__(self):
        return f"{self.last_name}, {self.first_name}"


class Coverage(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="coverages")
    payer = models.CharField(max_length=120)
    plan = models.CharField(max_length=120, blank=True)
    member_id = models.CharField(max_length=60)
    primary = models.BooleanField(default=True)

    def __str__(self):
        return f"{self.payer} {self.plan}"
