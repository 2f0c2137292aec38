"""Who looks after which referrers, and the lists liaisons work from.

Liaisons and compliance reviewers work here: referrers (clinicians and practices) and their
monthly counts and rates, never patients (DESIGN.md, Privacy).
"""

from django.conf import settings
from django.db import models


class Territory(models.Model):
    """A liaison's patch: the practices they look after."""

    name = models.CharField(max_length=120, unique=True)
    liaison = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="territories",
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "territories"

    def __str__(self):
        return self.name


class TargetList(models.Model):
    """A saved set of referrers to work on, by referral pattern and service-line fit.

    `criteria` holds the filters (relations.queries reads them), so the list follows the numbers:
    a referrer who stops declining leaves a "declining" list by itself."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="target_lists"
    )
    shared = models.BooleanField(default=False, help_text="Other liaisons can use it.")
    criteria = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name
