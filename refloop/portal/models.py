"""Referring offices in the portal: their accounts, the invitations that make them, and the
counters that hold back abuse (form posts per address, failed sign-ins per account and address)."""

from django.conf import settings
from django.db import models

from refloop.directory.models import Organization


class OfficeAccount(models.Model):
    """A person at a referring office: a Django user in the "Referring office" group (no staff
    permission), who sees the referrals of this one organization and nothing else."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="office_account"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="office_accounts"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "active"])]

    def __str__(self):
        return f"Office account {self.pk} of organization {self.organization_id}"


class OfficeInvitation(models.Model):
    """A single-use link that lets one e-mail address make an account for one organization. Only
    the token's SHA-256 is kept: a database reader cannot use an invitation."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="office_invitations"
    )
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    account = models.ForeignKey(
        OfficeAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]


class RateCount(models.Model):
    """How many times something happened for one key in one fixed window (a form post from an
    address, a failed sign-in for an account from an address). In the database, not a cache: the
    web processes of `make run` each have their own memory. Keys are hashed (no addresses kept)."""

    scope = models.CharField(max_length=20)
    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key", "window_start"], name="rate_count_unique"
            )
        ]
        indexes = [models.Index(fields=["window_start"])]


class PortalNotice(models.Model):
    """A portal message whose office has been told by e-mail that something new is waiting
    (the link-only notice). Unique per message: two schedulers never tell twice."""

    message = models.OneToOneField(
        "messaging.OutboundMessage", on_delete=models.CASCADE, related_name="+"
    )
    noticed_at = models.DateTimeField()
