"""Patient contact: visit instructions per service line and language, the single-use links
patients follow without a login, and the waitlist for earlier slots."""

from django.db import models
from django.db.models import Q

from refloop.access.models.appointments import Appointment
from refloop.access.models.calendars import Slot, VisitType
from refloop.directory.models import ServiceLine
from refloop.referrals.models import Referral


class ServiceLineInstruction(models.Model):
    """Where to go, what to bring, which forms: one text per service line and language."""

    service_line = models.ForeignKey(
        ServiceLine, on_delete=models.CASCADE, related_name="instructions"
    )
    # As Patient.preferred_language spells it ("English", "Spanish"); matched without case.
    language = models.CharField(max_length=40)
    text = models.TextField()

    class Meta:
        ordering = ["service_line", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_line", "language"], name="instruction_per_language"
            )
        ]

    def __str__(self):
        return f"{self.service_line}: {self.language}"


class WaitlistEntry(models.Model):
    """A booked patient who would take an earlier slot of the same visit type."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="waitlist")
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField()
    # Only slots before this day are worth offering (blank: any slot earlier than the visit).
    wants_before = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_why = models.CharField(max_length=20, blank=True)  # "left", "moved_up"

    class Meta:
        ordering = ["joined_at", "id"]
        indexes = [models.Index(fields=["visit_type", "active", "joined_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"], condition=Q(active=True), name="one_active_waitlist_entry"
            )
        ]


class WaitlistOffer(models.Model):
    """A freed slot offered to one waiting patient; the first of its offers accepted wins."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"
        TAKEN_BY_OTHER = "taken_by_other", "Taken by another patient"
        DECLINED = "declined", "Declined"

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="waitlist_offers")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OFFERED)
    decided_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["offered_at", "id"]
        indexes = [
            # The expiry job reads only open offers.
            models.Index(
                fields=["expires_at"], condition=Q(status="offered"), name="waitlist_offer_open"
            )
        ]
        constraints = [
            # A patient is offered one slot once, however often it frees.
            models.UniqueConstraint(fields=["slot", "entry"], name="offer_once_per_slot")
        ]


class PatientLink(models.Model):
    """A single-use link in a text, e-mail or letter: confirm, cancel or ask to reschedule a
    visit, or take a waitlist offer. Only the token's SHA-256 is stored: the database alone
    cannot be turned into working links."""

    class Purpose(models.TextChoices):
        CONFIRM = "confirm", "Confirm the visit"
        CANCEL = "cancel", "Cancel the visit"
        RESCHEDULE = "reschedule", "Ask to reschedule"
        # A text has room for one link: its page offers confirm, cancel and reschedule.
        MANAGE = "manage", "Confirm, cancel or reschedule"
        ACCEPT_OFFER = "accept_offer", "Take an earlier slot"

    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=15, choices=Purpose.choices)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="patient_links"
    )
    offer = models.ForeignKey(
        WaitlistOffer, null=True, blank=True, on_delete=models.CASCADE, related_name="links"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_for = models.CharField(max_length=15, blank=True)  # what a manage link was used to do
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
