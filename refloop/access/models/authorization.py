"""Prior authorization: which payers require it per service line, and one record per referral."""

from django.db import models
from django.db.models import Q

from refloop.directory.models import ServiceLine
from refloop.referrals.models import Referral


class PayerRule(models.Model):
    """Whether a payer requires prior authorization for a service line. A payer with no rule
    does not: the practice lists the payers that do."""

    service_line = models.ForeignKey(
        ServiceLine, on_delete=models.CASCADE, related_name="payer_rules"
    )
    # As written in directory.Coverage.payer; matched without regard to case.
    payer = models.CharField(max_length=120)
    requires_authorization = models.BooleanField(default=True)

    class Meta:
        ordering = ["service_line", "payer"]
        constraints = [
            models.UniqueConstraint(fields=["service_line", "payer"], name="payer_rule_unique")
        ]

    def __str__(self):
        needs = "requires" if self.requires_authorization else "does not require"
        return f"{self.payer} {needs} authorization for {self.service_line}"


class AuthorizationStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", "Not required"
    TO_REQUEST = "to_request", "To request"
    SUBMITTED = "submitted", "Submitted to the payer"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"


# Waiting for a decision: the AUTHORIZATION_PENDING blocker is open.
PENDING = frozenset({AuthorizationStatus.TO_REQUEST, AuthorizationStatus.SUBMITTED})
# May be (re)submitted to the payer: a first request, an appeal or corrected request after a
# denial, a new one for a later visit after an expiry.
RESUBMITTABLE = frozenset(
    {AuthorizationStatus.TO_REQUEST, AuthorizationStatus.DENIED, AuthorizationStatus.EXPIRED}
)


class Authorization(models.Model):
    """The referral's prior authorization. `next_check_at` is when the scheduler must look at
    it again (a submission past its target, an approval running out), so a pass reads only the
    rows that need it."""

    referral = models.OneToOneField(
        Referral, on_delete=models.PROTECT, related_name="authorization"
    )
    status = models.CharField(max_length=12, choices=AuthorizationStatus.choices)
    payer = models.CharField(max_length=120, blank=True)  # the primary payer it was decided on
    number = models.CharField(max_length=60, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    denial_reason = models.CharField(max_length=300, blank=True)

    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # the payer's decision is due
    expired_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="authorization_next_check",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="approved")
                | Q(
                    valid_from__isnull=False,
                    valid_to__isnull=False,
                    valid_to__gte=models.F("valid_from"),
                ),
                name="approved_has_validity",
            )
        ]

    def __str__(self):
        return f"Authorization {self.get_status_display().lower()}"

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING
