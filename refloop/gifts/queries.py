"""Reads of the gift ledger: limits, a physician's year, the ledger page, the approval queue.

Every figure here follows refloop.gifts.rules: a physician's year total under 411.357(k) is the sum
of their shares of actual items given under (k) that year, less the excess repaid under a cure.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear

from refloop.directory.models import Clinician
from refloop.gifts.enums import (
    BASIS_LIMIT,
    COMMITTED_STATES,
    COUNTED_STATES,
    Basis,
    CureState,
    GiftState,
    LimitKind,
)
from refloop.gifts.models import Cure, GiftItem, GiftLimit, GiftLogEntry, GiftShare
from refloop.gifts.rules import Attendee, is_physician, money, split_equally
from refloop.outreach.models import Activity, ActivityAttendee

ZERO = Decimal("0.00")
_SUM = dict(output_field=DecimalField(max_digits=12, decimal_places=2))


def gift_limit_amount(*, year: int, kind: str) -> Decimal | None:
    row = GiftLimit.objects.filter(year=year, kind=kind).values_list("amount", flat=True).first()
    return row


def gift_limits() -> list[GiftLimit]:
    return list(GiftLimit.objects.select_related("entered_by").order_by("-year", "kind"))


def years_without_limit(
    *, years: list[int], kind: str = LimitKind.NON_MONETARY_ANNUAL
) -> list[int]:
    have = set(GiftLimit.objects.filter(year__in=years, kind=kind).values_list("year", flat=True))
    return [y for y in years if y not in have]


def physician_year_totals(
    *,
    clinician_ids: list[int],
    year: int,
    states=COUNTED_STATES,
    exclude_item_id: int | None = None,
) -> dict[int, Decimal]:
    """Each physician's (k) total for the year over items in `states`, less repaid excess. Cash
    given is no part of it: it is not non-monetary compensation, and is flagged on its own."""
    shares = GiftShare.objects.filter(
        clinician_id__in=clinician_ids,
        physician=True,
        item__basis=Basis.NON_MONETARY,
        item__cash_equivalent=False,
        item__state__in=states,
        item__date__year=year,
    )
    if exclude_item_id:
        shares = shares.exclude(item_id=exclude_item_id)
    totals = defaultdict(lambda: ZERO)
    for clinician_id, amount in shares.values_list("clinician_id").annotate(
        total=Sum("amount", **_SUM)
    ):
        totals[clinician_id] += money(str(amount))
    repaid = Cure.objects.filter(
        clinician_id__in=clinician_ids, year=year, state=CureState.REPAID
    ).values_list("clinician_id", "excess")
    for clinician_id, excess in repaid:
        totals[clinician_id] -= excess
    return {pk: money(totals[pk]) for pk in clinician_ids}


def attendees_resolve(
    *, activity_id: int | None, clinician_ids: list[int], others: list[str]
) -> list[Attendee]:
    """Who shares an item: those marked as attending the outreach activity, the clinicians named,
    and other people by name (office staff). Each clinician once."""
    ids = set(clinician_ids)
    if activity_id:
        # Outreach has no read function for this yet: its attendee rows are read as they are.
        ids |= set(
            ActivityAttendee.objects.filter(activity_id=activity_id, attended=True).values_list(
                "clinician_id", flat=True
            )
        )
    clinicians = Clinician.objects.filter(pk__in=ids).only(
        "id", "first_name", "last_name", "credentials"
    )
    people = [
        Attendee(name=str(c), clinician_id=c.pk, physician=is_physician(c.credentials))
        for c in clinicians
    ]
    names = [name.strip() for name in others if name.strip()]
    if activity_id:
        names += _office_staff_present(activity_id)
    seen: set[str] = set()
    for name in names:  # each person once, though named on the activity and the form alike
        if name.lower() not in seen:
            seen.add(name.lower())
            people.append(Attendee(name=name))
    return people


def _office_staff_present(activity_id: int) -> list[str]:
    """Office staff the activity records as met: contacts on file and "name, role" lines. They
    share a meal's cost (and never count against a physician's limit)."""
    activity = Activity.objects.prefetch_related("contacts").get(pk=activity_id)
    lines = [line.split(",")[0].strip() for line in activity.office_staff.splitlines()]
    return [contact.name for contact in activity.contacts.all()] + [n for n in lines if n]


@dataclass(frozen=True)
class PreviewRow:
    attendee: Attendee
    share: Decimal
    year_total: Decimal | None  # committed (approved or given) before this item
    after: Decimal | None
    limit: Decimal | None
    over: bool


def gift_split_preview(
    *,
    total: Decimal,
    attendees: list[Attendee],
    year: int,
    basis: str,
    exclude_item_id: int | None = None,
) -> tuple[Decimal | None, list[PreviewRow]]:
    """The split and, for each physician, where the item would leave their year (or, for an
    incidental benefit, whether the occurrence is under the per-occurrence limit)."""
    limit = gift_limit_amount(year=year, kind=BASIS_LIMIT[Basis(basis)])
    shares = split_equally(total, attendees)
    physician_ids = [a.clinician_id for a, _ in shares if a.physician]
    before = (
        physician_year_totals(
            clinician_ids=physician_ids,
            year=year,
            states=COMMITTED_STATES,
            exclude_item_id=exclude_item_id,
        )
        if basis == Basis.NON_MONETARY
        else {}
    )
    rows = []
    for attendee, share in shares:
        if not attendee.physician:
            rows.append(PreviewRow(attendee, share, None, None, None, False))
            continue
        if basis == Basis.INCIDENTAL:
            over = limit is not None and share >= limit
            rows.append(PreviewRow(attendee, share, None, None, limit, over))
            continue
        ytd = before[attendee.clinician_id]
        after = ytd + share
        rows.append(PreviewRow(attendee, share, ytd, after, limit, bool(limit and after > limit)))
    return limit, rows


@dataclass
class LedgerRow:
    clinician_id: int
    name: str
    given: Decimal
    approved: Decimal
    planned: Decimal
    repaid: Decimal
    total: Decimal  # given less repaid excess: what counts against the limit
    headroom: Decimal | None
    excess: Decimal
    incidental_given: Decimal
    flags: set[str] = field(default_factory=set)
    cure: Cure | None = None


def gift_ledger(
    *, year: int, clinician_id: int | None = None
) -> tuple[Decimal | None, list[LedgerRow]]:
    """One row per physician with a share this year: given, approved and planned totals under
    (k), headroom to the limit, excess, flags and the year's cure. Four queries whatever the
    number of physicians."""
    limit = gift_limit_amount(year=year, kind=LimitKind.NON_MONETARY_ANNUAL)
    this_year = Q(item__date__year=year, physician=True)
    if clinician_id:
        this_year &= Q(clinician_id=clinician_id)

    def summed(**condition):
        return Coalesce(Sum("amount", filter=Q(**condition), **_SUM), Value(ZERO), **_SUM)

    rows = (
        GiftShare.objects.filter(this_year)
        .exclude(item__state=GiftState.CANCELLED)
        .values("clinician_id", "clinician__first_name", "clinician__last_name")
        .annotate(
            given=summed(
                item__state=GiftState.ACTUAL,
                item__basis=Basis.NON_MONETARY,
                item__cash_equivalent=False,  # cash is flagged on its own (ExcessFlag.CASH)
            ),
            approved=summed(item__state=GiftState.APPROVED, item__basis=Basis.NON_MONETARY),
            planned=summed(item__state=GiftState.PLANNED, item__basis=Basis.NON_MONETARY),
            incidental=summed(item__state=GiftState.ACTUAL, item__basis=Basis.INCIDENTAL),
        )
        .order_by("clinician__last_name", "clinician__first_name", "clinician_id")
    )
    cure_rows = Cure.objects.filter(year=year)
    if clinician_id:
        cure_rows = cure_rows.filter(clinician_id=clinician_id)
    cures = {c.clinician_id: c for c in cure_rows.order_by("clinician_id", "id")}
    flags = defaultdict(set)
    for clinician_id, flag in (
        GiftShare.objects.filter(this_year, item__state=GiftState.ACTUAL)
        .exclude(flag="")
        .values_list("clinician_id", "flag")
        .distinct()
    ):
        flags[clinician_id].add(flag)
    ledger = []
    for row in rows:
        pk = row["clinician_id"]
        # SQLite sums decimals as floats' text: back to cents.
        for key in ("given", "approved", "planned", "incidental"):
            row[key] = money(str(row[key]))
        cure = cures.get(pk)
        repaid = cure.excess if cure and cure.state == CureState.REPAID else ZERO
        total = row["given"] - repaid
        ledger.append(
            LedgerRow(
                clinician_id=pk,
                name=f"{row['clinician__first_name']} {row['clinician__last_name']}",
                given=row["given"],
                approved=row["approved"],
                planned=row["planned"],
                repaid=repaid,
                total=total,
                headroom=None if limit is None else max(limit - total - row["approved"], ZERO),
                excess=ZERO if limit is None else max(total - limit, ZERO),
                incidental_given=row["incidental"],
                flags=flags[pk],
                cure=cure,
            )
        )
    return limit, ledger


def physician_gift_shares(*, clinician_id: int, year: int):
    return (
        GiftShare.objects.filter(clinician_id=clinician_id, item__date__year=year)
        .select_related("item", "cure")
        .order_by("item__date", "item_id")
    )


def physician_cures(*, clinician_id: int):
    return Cure.objects.filter(clinician_id=clinician_id).order_by("-year")


def approval_queue():
    """Planned items waiting for compliance, oldest date first, with their shares."""
    return (
        GiftItem.objects.filter(state=GiftState.PLANNED)
        .select_related("recorded_by", "activity")
        .prefetch_related(
            Prefetch("shares", queryset=GiftShare.objects.order_by("-physician", "name"))
        )
        .order_by("date", "id")
    )


def gift_items(*, year: int | None = None, states=None):
    rows = GiftItem.objects.select_related("recorded_by", "approved_by")
    if year:
        rows = rows.filter(date__year=year)
    if states:
        rows = rows.filter(state__in=states)
    return rows.order_by("-date", "-id")


def cures_list(*, states=None):
    rows = Cure.objects.select_related("clinician")
    if states:
        rows = rows.filter(state__in=states)
    return rows.order_by("state", "due_on", "id")


def cures_overdue(*, today: dt.date):
    """Open cures whose due date has passed: the job fails them."""
    return Cure.objects.filter(state=CureState.OPEN, due_on__lt=today)


def gift_log(*, item_id: int | None = None, limit: int = 50) -> list[GiftLogEntry]:
    rows = GiftLogEntry.objects.select_related("actor")
    if item_id:
        rows = rows.filter(item_id=item_id)
    return list(rows.order_by("-at", "-id")[:limit])


@dataclass(frozen=True)
class QueueShare:
    share: GiftShare
    year_total: Decimal | None  # approved and given before this item (annual limit only)
    after: Decimal | None
    limit: Decimal | None
    over: bool


@dataclass(frozen=True)
class QueueItem:
    item: GiftItem
    limit: Decimal | None
    shares: list[QueueShare]

    @property
    def blocked(self) -> bool:
        return self.limit is None or any(s.over for s in self.shares)


def gift_approval_queue() -> list[QueueItem]:
    """Planned items, each physician's share beside where approval would leave their year.
    Four queries however long the queue: items, shares, limits, the year totals."""
    items = list(approval_queue())
    years = {i.date.year for i in items}
    limits = {(row.year, row.kind): row.amount for row in GiftLimit.objects.filter(year__in=years)}
    physician_ids = {s.clinician_id for i in items for s in i.shares.all() if s.physician}
    totals = _committed_by_year(clinician_ids=physician_ids, years=years)
    queue = []
    for item in items:
        limit = limits.get((item.date.year, BASIS_LIMIT[Basis(item.basis)]))
        rows = []
        for share in item.shares.all():
            if not share.physician:
                rows.append(QueueShare(share, None, None, None, False))
            elif item.basis == Basis.INCIDENTAL:
                rows.append(
                    QueueShare(
                        share, None, None, limit, limit is not None and share.amount >= limit
                    )
                )
            else:
                before = totals.get((share.clinician_id, item.date.year), ZERO)
                after = before + share.amount
                rows.append(QueueShare(share, before, after, limit, bool(limit and after > limit)))
        queue.append(QueueItem(item, limit, rows))
    return queue


def _committed_by_year(
    *, clinician_ids: set[int], years: set[int]
) -> dict[tuple[int, int], Decimal]:
    if not clinician_ids:
        return {}
    totals: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    rows = (
        GiftShare.objects.filter(
            clinician_id__in=clinician_ids,
            physician=True,
            item__basis=Basis.NON_MONETARY,
            item__state__in=COMMITTED_STATES,
            item__date__year__in=years,
        )
        .annotate(year=ExtractYear("item__date"))
        .values_list("clinician_id", "year")
        .annotate(total=Sum("amount", **_SUM))
        .order_by()
    )
    for clinician_id, year, total in rows:
        totals[(clinician_id, year)] += money(str(total))
    for clinician_id, year, excess in Cure.objects.filter(
        clinician_id__in=clinician_ids, year__in=years, state=CureState.REPAID
    ).values_list("clinician_id", "year", "excess"):
        totals[(clinician_id, year)] -= excess
    return dict(totals)
