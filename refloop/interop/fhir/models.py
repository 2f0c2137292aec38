from django.db import models

from refloop.directory.models import Organization


class ApiClient(models.Model):
    """A system that talks to the FHIR API on behalf of one organization: it sees only that
    organization's referrals. It authenticates with an API key (kept hashed) or with SMART Backend
    Services (a signed JWT checked against its public keys)."""

    name = models.CharField(max_length=120)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="api_clients"
    )
    # SMART client_id; also the identifier system our referrals from this client are filed under
    # when its ServiceRequests carry none.
    client_id = models.CharField(max_length=80, unique=True)
    key_hash = models.CharField(max_length=64, blank=True, db_index=True)  # sha256 of the API key
    # SMART v2 scopes, space separated, e.g. "system/ServiceRequest.cruds system/Task.rs".
    scopes = models.TextField(default="system/*.cruds")
    jwks = models.JSONField(default=dict, blank=True)  # public keys for SMART Backend Services
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class FhirSubmission(models.Model):
    """What a client sent that could change data, kept as sent before anything is done with it, with
    the outcome: nothing a sender gave is lost, and a refused one can be read and corrected."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received, not yet processed"
        ACCEPTED = "accepted", "Accepted"
        DUPLICATE = "duplicate", "Resent: answered with the same referral"
        REJECTED = "rejected", "Rejected"

    client = models.ForeignKey(
        ApiClient, null=True, blank=True, on_delete=models.PROTECT, related_name="submissions"
    )
    interaction = models.CharField(max_length=40)  # transaction, process-message, create, update
    resource_type = models.CharField(max_length=40, blank=True)
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RECEIVED)
    problem = models.TextField(blank=True)  # the OperationOutcome's diagnostics when refused
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["outcome", "received_at"])]


class AccessToken(models.Model):
    """A short-lived opaque token issued by the SMART token endpoint; only its hash is kept."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.TextField()  # granted: what was asked and the client is registered for
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]


class ClientAssertionUse(models.Model):
    """A client assertion's jti, kept until the assertion expires so it cannot be replayed."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="client_assertion_once")
        ]
        indexes = [models.Index(fields=["expires_at"])]
