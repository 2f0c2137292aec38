"""Outreach content (service sheets, provider pages, e-mails, brochures, slide decks) and its
versions. Every version is kept; only an approved, unexpired version may be published or sent."""

import datetime as dt

from django.conf import settings
from django.db import models

from refloop.content.enums import ContentKind, ContentState
from refloop.directory.models import ServiceLine


class ContentItem(models.Model):
    kind = models.CharField(max_length=20, choices=ContentKind.choices)
    title = models.CharField(max_length=200)
    service_line = models.ForeignKey(
        ServiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="content"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self):
        return self.title


class ContentVersion(models.Model):
    item = models.ForeignKey(ContentItem, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(
        max_length=20, choices=ContentState.choices, default=ContentState.DRAFT
    )
    subject = models.CharField(max_length=200, blank=True)  # e-mails
    body = models.TextField()
    expires_on = models.DateField(null=True, blank=True)  # set when approved
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="content_version_unique")
        ]

    def __str__(self):
        return f"{self.item} v{self.number}"

    def usable_on(self, day: dt.date) -> bool:
        """Approved and not expired on `day`: the only versions that may be published or sent."""
        return self.state == ContentState.APPROVED and (
            self.expires_on is not None and day <= self.expires_on
        )
