from django.db import models
from django.db.models import Q

from refloop.directory.models import Clinician, Patient
from refloop.messaging.enums import (
    Audience,
    InboundAction,
    MessageChannel,
    MessageStatus,
    Purpose,
)
from refloop.referrals.models import Document, Referral


class OutboundMessage(models.Model):
    """One message to a patient, a referrer or a colleague, through one channel.

    Every automated message has a `dedupe_key` (say "reminder:appointment-12:7d"): the unique
    constraint is what guarantees that two schedulers, or a job run twice after a crash, never
    send the same thing twice. Subjects carry no PHI; texts name the practice, never the service.
    """

    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    audience = models.CharField(max_length=10, choices=Audience.choices)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    to_address = models.CharField(max_length=200)  # phone, e-mail, fax number or Direct address
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # A PDF that goes with it (the report, a letter): over fax, Direct, the portal or by post only.
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    status_reason = models.CharField(max_length=200, blank=True)
    not_before = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)  # pointless after (a past visit)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    backend = models.CharField(max_length=60, blank=True)
    provider_id = models.CharField(max_length=120, blank=True, db_index=True)

    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The scheduler's "what is due" read: only queued (and stuck sending) rows.
            models.Index(
                fields=["not_before"],
                condition=Q(status__in=["queued", "sending"]),
                name="message_due",
            ),
            models.Index(fields=["patient", "channel", "sent_at"]),
            models.Index(fields=["referral", "created_at"]),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} by {self.get_channel_display()} ({self.status})"


class InboundMessage(models.Model):
    """A text a patient (or anyone) sent to the practice's number, kept whatever it said: STOP and
    its kin act at once; anything else, or a number nobody has, waits here for staff."""

    channel = models.CharField(
        max_length=10, choices=MessageChannel.choices, default=MessageChannel.SMS
    )
    from_address = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField()
    # The provider's id (Twilio's MessageSid): a webhook delivered twice acts once.
    provider_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_messages"
    )
    action = models.CharField(max_length=20, choices=InboundAction.choices)
    reply = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["action", "received_at"])]

    def __str__(self):
        return f"{self.get_channel_display()} received {self.received_at:%Y-%m-%d %H:%M}"
