"""Outreach content (service sheets, provider pages, e-mails, brochures, slide decks) and its
versions. Every version is kept; only an approved, unexpired version may be published or sent."""

import datetime as dt

from django.conf import settings
from django.db import models

from refloop.content.enums import ClaimCategory, ContentKind, ContentState
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
    """One version of an item's text. Only DRAFT and CHANGES_REQUESTED versions are edited
    (enums.EDITABLE_STATES); a change to anything handed in is a new version, copied from the last.

    Personalisation (e-mails): the subject and body may name fields in single braces,
    `{first_name}`, `{last_name}`, `{name}`, `{practice_name}`, `{liaison_name}`,
    `{service_line}` (enums.PERSONALISATION_FIELDS); a literal brace is doubled (`{{`). The
    campaigns stream fills them per recipient with `str.format_map`-like rules; any other field
    name is refused when the version is saved (services.version_edit).
    Measured figures (turnaround) are never part of the text: provider pages render them beside it.
    """

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
    # Set by the expiry job when it told the author this approval runs out soon (once).
    expiry_alerted_at = models.DateTimeField(null=True, blank=True)

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


class ContentDecision(models.Model):
    """The audit trail: one row per state change of a version (services.content_transition), with
    the claims flags as they stood at that moment. Rows are only ever added."""

    version = models.ForeignKey(ContentVersion, on_delete=models.PROTECT, related_name="decisions")
    from_state = models.CharField(max_length=20, choices=ContentState.choices)
    to_state = models.CharField(max_length=20, choices=ContentState.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.TextField(blank=True)
    expires_on = models.DateField(null=True, blank=True)  # what an approval set
    flags = models.JSONField(default=list)  # [{rule, category, words, start, end, where}, ...]
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["version", "at"])]

    def __str__(self):
        return f"{self.version}: {self.from_state} -> {self.to_state}"


class ClaimRule(models.Model):
    """One rule of the claims checker (content.claims), edited by compliance reviewers.

    `pattern` is a regular expression, matched case-insensitively and word-bounded (it must not
    start or end inside a word). `unless` is an optional expression: a match is not flagged when
    the sentence around it also matches `unless` (say, a cited source after a percentage)."""

    name = models.CharField(max_length=80, unique=True)
    category = models.CharField(max_length=30, choices=ClaimCategory.choices)
    pattern = models.CharField(max_length=400)
    unless = models.CharField(max_length=400, blank=True)
    explanation = models.CharField(max_length=400)
    active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self):
        return self.name
