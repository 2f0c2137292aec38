"""Campaign e-mail to clinicians and their offices (never to patients)."""

from django.conf import settings
from django.db import models

from refloop.campaigns.enums import CampaignState, EventAction, HoldDecision, RecipientState


class Suppression(models.Model):
    """An address that unsubscribed (or bounced): no campaign or event invitation goes to it,
    for good. It never stops status updates or reports about a referrer's own patients."""

    email = models.EmailField(unique=True)  # stored lower-case
    reason = models.CharField(max_length=40, default="unsubscribed")
    source = models.CharField(max_length=120, blank=True)  # the campaign or page it came from
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.email


class Campaign(models.Model):
    """One e-mail from the approved library to the people on a target list, at a set time.

    `content_version` is the version actually sent: chosen when sending starts (the newest
    approved, unexpired one that day), never edited afterwards."""

    name = models.CharField(max_length=200)
    target_list = models.ForeignKey(
        "relations.TargetList", on_delete=models.PROTECT, related_name="campaigns"
    )
    content_item = models.ForeignKey(
        "content.ContentItem",
        on_delete=models.PROTECT,
        related_name="campaigns",
        limit_choices_to={"kind": "email"},
    )
    content_version = models.ForeignKey(
        "content.ContentVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns_sent",
    )
    service_line = models.ForeignKey(
        "directory.ServiceLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text="The service line the e-mail promotes (its access is checked before sending).",
    )
    sender_name = models.CharField(max_length=200)
    sender_address = models.EmailField()
    scheduled_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=12, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    state_reason = models.CharField(max_length=300, blank=True)  # why it is held or stopped
    tracking_allowed = models.BooleanField(
        default=False,
        help_text="Record opens and clicks (only if the practice allows tracking too).",
    )
    hold_decision = models.CharField(max_length=10, choices=HoldDecision.choices, blank=True)
    hold_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    hold_decided_at = models.DateTimeField(null=True, blank=True)
    hold_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)  # the scheduler's claim

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "scheduled_at"])]

    def __str__(self):
        return self.name


class CampaignRecipient(models.Model):
    """One address a campaign goes to, materialised when sending starts. `claimed_at` is the
    send claim (a conditional UPDATE): set once, by one worker, just before the mail server is
    called, so no address is ever sent twice."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    email = models.EmailField()  # lower-case
    name = models.CharField(max_length=200, blank=True)
    clinician = models.ForeignKey(
        "directory.Clinician", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_id = models.PositiveIntegerField(null=True, blank=True)  # office staff (relations)
    organization = models.ForeignKey(
        "directory.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token = models.CharField(max_length=43, unique=True)  # unsubscribe and tracking links
    state = models.CharField(
        max_length=12, choices=RecipientState.choices, default=RecipientState.QUEUED
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "email"], name="campaign_recipient_unique")
        ]
        indexes = [models.Index(fields=["campaign", "state", "claimed_at"])]

    def __str__(self):
        return self.email


class CampaignEvent(models.Model):
    """The audit trail: one row per state change (and per hold decision), who and why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=12, choices=EventAction.choices)
    from_state = models.CharField(max_length=12, choices=CampaignState.choices)
    to_state = models.CharField(max_length=12, choices=CampaignState.choices)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["campaign", "at", "id"]

    def __str__(self):
        return f"{self.campaign}: {self.action}"
