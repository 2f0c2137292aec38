"""Attempts to reach the patient (to book the visit): how, and what came of it."""

from django.conf import settings
from django.db import models

from refloop.referrals.models import Referral


class ContactChannel(models.TextChoices):
    CALL = "call", "Call"
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    LETTER = "letter", "Letter"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", "Reached"
    NO_ANSWER = "no_answer", "No answer"
    LEFT_MESSAGE = "left_message", "Left a message"
    WRONG_NUMBER = "wrong_number", "Wrong number or address"
    SENT = "sent", "Sent, no answer yet"


# What each channel can come to: a letter is only sent; a text or e-mail is reached when the
# patient answers it.
CHANNEL_OUTCOMES = {
    ContactChannel.CALL: frozenset(
        {
            ContactOutcome.REACHED,
            ContactOutcome.NO_ANSWER,
            ContactOutcome.LEFT_MESSAGE,
            ContactOutcome.WRONG_NUMBER,
        }
    ),
    ContactChannel.SMS: frozenset(
        {ContactOutcome.SENT, ContactOutcome.REACHED, ContactOutcome.WRONG_NUMBER}
    ),
    ContactChannel.EMAIL: frozenset(
        {ContactOutcome.SENT, ContactOutcome.REACHED, ContactOutcome.WRONG_NUMBER}
    ),
    ContactChannel.LETTER: frozenset({ContactOutcome.SENT, ContactOutcome.WRONG_NUMBER}),
}


class ContactAttempt(models.Model):
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="contact_attempts"
    )
    channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    outcome = models.CharField(max_length=15, choices=ContactOutcome.choices)
    occurred_at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["referral", "occurred_at"])]

    def __str__(self):
        return f"{self.get_channel_display()}: {self.get_outcome_display()}"

    @property
    def reached(self) -> bool:
        return self.outcome == ContactOutcome.REACHED
