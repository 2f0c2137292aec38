"""The gift ledger's vocabularies and workflows, declared once (states, groups, moves)."""

from django.db import models


class LimitKind(models.TextChoices):
    NON_MONETARY_ANNUAL = "non_monetary_annual", "Non-monetary compensation, per year (411.357(k))"
    INCIDENTAL_PER_OCCURRENCE = (
        "incidental_per_occurrence",
        "Medical staff incidental benefit, per occurrence (411.357(m)(5))",
    )


class Basis(models.TextChoices):
    """Which exception an item is given under: it decides which limit applies."""

    NON_MONETARY = "non_monetary", "Non-monetary compensation (annual limit)"
    INCIDENTAL = "incidental", "Medical staff incidental benefit (per occurrence)"


BASIS_LIMIT = {
    Basis.NON_MONETARY: LimitKind.NON_MONETARY_ANNUAL,
    Basis.INCIDENTAL: LimitKind.INCIDENTAL_PER_OCCURRENCE,
}


class GiftKind(models.TextChoices):
    MEAL = "meal", "Meal"
    GIFT = "gift", "Gift"
    EVENT_COST = "event_cost", "Event cost"
    OTHER = "other", "Other"


class GiftState(models.TextChoices):
    PLANNED = "planned", "Planned"
    APPROVED = "approved", "Approved"
    ACTUAL = "actual", "Given (actual)"
    CANCELLED = "cancelled", "Cancelled"


# Named groups: what counts toward a physician's year, and what still waits to be given.
COUNTED_STATES = (GiftState.ACTUAL,)
COMMITTED_STATES = (GiftState.APPROVED, GiftState.ACTUAL)
OPEN_STATES = (GiftState.PLANNED, GiftState.APPROVED)

TRANSITIONS: dict[str, frozenset[str]] = {
    GiftState.PLANNED: frozenset({GiftState.APPROVED, GiftState.ACTUAL, GiftState.CANCELLED}),
    GiftState.APPROVED: frozenset({GiftState.ACTUAL, GiftState.CANCELLED}),
    GiftState.ACTUAL: frozenset(),
    GiftState.CANCELLED: frozenset(),
}


class ExcessFlag(models.TextChoices):
    """What the ledger said about a physician's share when it was given."""

    NONE = "", "Within the limit"
    CURE = "cure", "Over the limit: repayment cure open"
    NOT_CURABLE = "not_curable", "Over the limit: not curable"
    OVER_INCIDENTAL = "over_incidental", "Over the per-occurrence limit (no cure)"
    NO_LIMIT = "no_limit", "No limit entered for the year yet"
    CASH = "cash", "Cash or a cash equivalent: never allowed, no cure"


class CureState(models.TextChoices):
    OPEN = "open", "Open: repayment due"
    REPAID = "repaid", "Repaid"
    FAILED = "failed", "Failed: not repaid in time"


# A cure "used" for the once-in-three-years rule: one under way or done (a failed one protected
# nothing, so it does not use up the physician's chance).
USED_CURE_STATES = (CureState.OPEN, CureState.REPAID)


class GiftAction(models.TextChoices):
    LIMIT_SET = "limit_set", "Limit entered"
    PLANNED = "planned", "Planned"
    APPROVED = "approved", "Approved"
    RECORDED = "recorded", "Given (recorded)"
    CANCELLED = "cancelled", "Cancelled"
    CURE_OPENED = "cure_opened", "Repayment cure opened"
    CURE_GREW = "cure_grew", "Repayment cure grew"
    EXCESS_NOT_CURABLE = "not_curable", "Excess not curable"
    CURE_REPAID = "cure_repaid", "Cure repaid"
    CURE_FAILED = "cure_failed", "Cure failed"
