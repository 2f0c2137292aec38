"""The gift ledger: items of value given to referring physicians, each split into per-person
shares, the yearly limits CMS publishes, and repayment cures (rules: refloop.gifts.rules).

No patient data here: physicians, office staff, amounts and dates only."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from refloop.directory.models import Clinician
from refloop.gifts.enums import (
    Basis,
    CureState,
    ExcessFlag,
    GiftAction,
    GiftKind,
    GiftState,
    LimitKind,
)
from refloop.outreach.models import Activity

MONEY = dict(max_digits=10, decimal_places=2)


class GiftLimit(models.Model):
    """One figure CMS published for one calendar year. Entered by an admin (or the seed
    migration) with where it came from; a year without a row blocks planning."""

    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30, choices=LimitKind.choices)
    amount = models.DecimalField(**MONEY)
    source = models.CharField(max_length=300, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["year", "kind"], name="gift_limit_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="gift_limit_positive"),
        ]

    def __str__(self):
        return f"{self.year} {self.get_kind_display()}: ${self.amount}"


class GiftItem(models.Model):
    kind = models.CharField(max_length=20, choices=GiftKind.choices)
    basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.NON_MONETARY)
    description = models.CharField(max_length=200)
    date = models.DateField()  # planned date, then the day it was given
    total = models.DecimalField(**MONEY)
    state = models.CharField(max_length=10, choices=GiftState.choices, default=GiftState.PLANNED)
    # Cash and cash equivalents are never allowed (411.357(k), (m)): the services refuse them and
    # the database would too, so the flag is kept only to say so where a form asks.
    cash_equivalent = models.BooleanField(default=False)
    activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.PROTECT, related_name="gifts"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    given_at = models.DateTimeField(null=True, blank=True)  # when it was recorded as given
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["state", "date"])]
        constraints = [
            # Cash is never planned or approved; one already given is kept, flagged, to be seen.
            models.CheckConstraint(
                condition=Q(cash_equivalent=False) | Q(state="actual"),
                name="gift_cash_only_as_given",
            ),
            models.CheckConstraint(condition=Q(total__gt=0), name="gift_total_positive"),
        ]

    def __str__(self):
        return f"{self.description} ({self.date:%Y-%m-%d})"


class GiftShare(models.Model):
    """One person's part of an item. `physician` is decided when the item is split (from the
    clinician's credentials) and kept, so a later change to the directory does not rewrite the
    ledger; only physicians' shares count against a limit."""

    item = models.ForeignKey(GiftItem, on_delete=models.CASCADE, related_name="shares")
    clinician = models.ForeignKey(
        Clinician, null=True, blank=True, on_delete=models.PROTECT, related_name="gift_shares"
    )
    name = models.CharField(max_length=200)
    physician = models.BooleanField(default=False)
    amount = models.DecimalField(**MONEY)
    # Set when the item is given: the part of this share over the limit and what was done.
    excess = models.DecimalField(default=0, **MONEY)
    flag = models.CharField(max_length=20, choices=ExcessFlag.choices, blank=True, default="")
    cure = models.ForeignKey(
        "Cure", null=True, blank=True, on_delete=models.SET_NULL, related_name="shares"
    )

    class Meta:
        ordering = ["item", "-physician", "name", "id"]
        indexes = [models.Index(fields=["clinician", "item"])]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "clinician"],
                condition=Q(clinician__isnull=False),
                name="gift_share_once_per_clinician",
            ),
            models.CheckConstraint(
                condition=Q(physician=False) | Q(clinician__isnull=False),
                name="gift_share_physician_is_clinician",
            ),
        ]

    def __str__(self):
        return f"{self.name}: ${self.amount}"


class Cure(models.Model):
    """The (k)(3) repayment cure for one physician's excess in one calendar year."""

    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="gift_cures")
    year = models.PositiveSmallIntegerField()
    excess = models.DecimalField(**MONEY)
    limit = models.DecimalField(**MONEY)  # the year's figure when the cure was opened
    received_on = models.DateField()  # the day the excess was received
    due_on = models.DateField()
    state = models.CharField(max_length=10, choices=CureState.choices, default=CureState.OPEN)
    repaid_on = models.DateField(null=True, blank=True)
    repaid_amount = models.DecimalField(null=True, blank=True, **MONEY)
    note = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["state", "due_on"])]
        constraints = [
            models.UniqueConstraint(fields=["clinician", "year"], name="gift_cure_once_a_year"),
            models.CheckConstraint(
                condition=Q(state=CureState.REPAID, repaid_on__isnull=False)
                | ~Q(state=CureState.REPAID),
                name="gift_cure_repaid_has_date",
            ),
        ]

    def __str__(self):
        return f"Cure {self.year} {self.clinician}: ${self.excess}"


class GiftLogEntry(models.Model):
    """The audit trail of the ledger: every change, who made it, when. Append-only."""

    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=GiftAction.choices)
    item = models.ForeignKey(
        GiftItem, null=True, blank=True, on_delete=models.PROTECT, related_name="log"
    )
    cure = models.ForeignKey(
        Cure, null=True, blank=True, on_delete=models.PROTECT, related_name="log"
    )
    limit = models.ForeignKey(
        GiftLimit, null=True, blank=True, on_delete=models.PROTECT, related_name="log"
    )
    text = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "gift log entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}: {self.text}"
