"""HL7 v2 over MLLP: what partners sent us (kept raw, before anything is done with it), who the
partners are, and the patient merges waiting for a person."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from refloop.directory.models import Organization, Patient, ServiceLine
from refloop.referrals.models import Referral


class Hl7Partner(models.Model):
    """A system that sends us HL7 v2 (and may want answers): known by MSH-3/MSH-4."""

    class Report(models.TextChoices):
        NONE = "", "No report"
        MDM_T02 = "MDM^T02", "MDM^T02 (document)"
        ORU_R01 = "ORU^R01", "ORU^R01 (result)"

    name = models.CharField(max_length=120)
    # MSH-3 and MSH-4 (first component, the namespace id). A blank application matches any
    # application of that facility (an EHR often sends REF from one app and SIU from another).
    sending_application = models.CharField(max_length=60, blank=True)
    sending_facility = models.CharField(max_length=60)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="hl7_partners"
    )
    # For a REF^I12 whose RF1-3 / PRD(RT) names no service line of ours.
    default_service_line = models.ForeignKey(
        ServiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outbound_host = models.CharField(max_length=200, blank=True)
    outbound_port = models.PositiveIntegerField(null=True, blank=True)
    wants_status = models.BooleanField(default=False, help_text="RRI^I12 status updates.")
    wants_report = models.CharField(max_length=8, choices=Report.choices, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["sending_facility", "sending_application"], name="hl7_partner_unique"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def sender(self) -> str:
        return f"{self.sending_application}^{self.sending_facility}"


class Hl7Message(models.Model):
    """One message as it came over the wire, committed before it is acknowledged. A resend (same
    sender and MSH-10) is answered with `ack` again, never processed twice."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received, not processed yet"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Acknowledged and ignored"
        ERROR = "error", "Error"

    raw = models.BinaryField()  # bytes as received, between the MLLP frame characters
    sender = models.CharField(max_length=130, blank=True)  # MSH-3^MSH-4 (namespace ids)
    control_id = models.CharField(max_length=64, blank=True)  # MSH-10
    message_type = models.CharField(max_length=3, blank=True)  # MSH-9.1
    trigger = models.CharField(max_length=3, blank=True)  # MSH-9.2
    version = models.CharField(max_length=12, blank=True)  # MSH-12
    partner = models.ForeignKey(
        Hl7Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    received_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)  # the problem, as told to the sender (no PHI)
    outcome = models.CharField(max_length=300, blank=True)  # what was done, or why ignored
    ack_code = models.CharField(max_length=2, blank=True)  # AA, AE, AR
    ack = models.BinaryField(null=True, blank=True)  # the ACK as sent, resent as is
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.SET_NULL, related_name="hl7_messages"
    )
    # Staff corrected and replayed it: the new attempt is a new row pointing here.
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replays"
    )
    replay_count = models.PositiveSmallIntegerField(default=0)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The row a resend of (sender, control id) is answered from. Replays, and a different
    # message that reuses a control id, are kept beside it without taking its place.
    answers_resend = models.BooleanField(default=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "control_id"],
                condition=Q(answers_resend=True) & ~Q(control_id=""),
                name="hl7_message_sender_control_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["referral"]),
        ]

    def __str__(self):
        return f"{self.message_type}^{self.trigger} {self.control_id} from {self.sender}"

    @property
    def type_display(self) -> str:
        return f"{self.message_type}^{self.trigger}" if self.message_type else "?"

    @property
    def raw_text(self) -> str:
        return bytes(self.raw).decode("utf-8", errors="replace")


class Hl7AppointmentLink(models.Model):
    """Which referral a partner's appointment (SCH-2 filler id, or SCH-1 placer id) belongs to,
    learnt at the booking (S12) so S13/S14/S15/S26 find it again."""

    sending_facility = models.CharField(max_length=60)
    appointment_id = models.CharField(max_length=80)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sending_facility", "appointment_id"], name="hl7_appointment_unique"
            )
        ]


class MergeReview(models.Model):
    """An A40 (merge) or A47 (identifier change) kept for a person: never applied blindly."""

    class Kind(models.TextChoices):
        MERGE = "A40", "Merge patients (A40)"
        IDENTIFIER_CHANGE = "A47", "Change patient identifier (A47)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a decision"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"

    message = models.ForeignKey(Hl7Message, on_delete=models.PROTECT, related_name="merges")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    surviving_mrn = models.CharField(max_length=30)  # PID-3
    prior_mrn = models.CharField(max_length=30)  # MRG-1
    surviving_patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prior_patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    result = models.CharField(max_length=300, blank=True)  # what applying it did
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
