"""Every write to the gift ledger: one function per state change. Each validates, writes, logs
(a GiftLogEntry) and notifies (alerts to compliance or to the planner), in that order, in one
transaction. The rules applied are in refloop.gifts.rules (42 CFR 411.357(k) and (m)).

- gift_limit_set: an admin enters CMS's figure for a year (shares given while the year had no
  figure are judged then).
- gift_plan: a planned item; refused in a year with no figure.
- gift_approve: compliance approves a planned item; refused if any physician would pass the
  limit (the message names the physician, the year-to-date total and the limit).
- gift_record / gift_record_actual: an item given is always recorded; excess is flagged and a
  repayment cure opened where (k)(3) allows it.
- gift_cancel, cure_repay, cure_fail.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.alerts.queries import holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.core.roles import user_can
from refloop.directory.models import Clinician
from refloop.gifts.enums import (
    BASIS_LIMIT,
    COMMITTED_STATES,
    TRANSITIONS,
    USED_CURE_STATES,
    Basis,
    CureState,
    ExcessFlag,
    GiftAction,
    GiftKind,
    GiftState,
    LimitKind,
)
from refloop.gifts.models import Cure, GiftItem, GiftLimit, GiftLogEntry, GiftShare
from refloop.gifts.queries import attendees_resolve, gift_limit_amount, physician_year_totals
from refloop.gifts.rules import (
    Attendee,
    cash_words,
    cure_covers,
    cure_due_date,
    cure_window_start,
    incidental_within,
    money,
    split_equally,
)

APPROVER = "approve_gifts"
PLANNER = "do_outreach"
LIMIT_EDITOR = "edit_gift_limits"
MAX_TOTAL = Decimal("100000.00")
CASH_REFUSED = (
    "Cash and cash equivalents (cash, gift cards, prepaid cards, vouchers) are never allowed as "
    "gifts to physicians (42 CFR 411.357(k))."
)


# -- limits ---------------------------------------------------------------------------------


def gift_limit_set(*, year: int, kind: str, amount, source: str, user) -> GiftLimit:
    """Enter (or correct) CMS's figure for a year. Shares given while the year had no figure are
    judged against it now; shares judged before keep their flags (the audit trail), while the
    ledger always compares the year's totals with the current figure."""
    _allow(user, LIMIT_EDITOR, "Only an admin enters the gift limits.")
    if kind not in LimitKind.values:
        raise DomainError("Choose which limit this is.", code="limit_kind")
    if not 2000 <= int(year) <= 2100:
        raise DomainError(f"{year} is not a calendar year the ledger can use.", code="limit_year")
    amount = _money_in(amount, what="The limit")
    if not source.strip():
        raise DomainError(
            "Say where the figure comes from (CMS's CPI-U Updates page, the Federal Register).",
            code="limit_source",
        )
    now = timezone.now()
    with transaction.atomic():
        limit, created = GiftLimit.objects.select_for_update().get_or_create(
            year=year, kind=kind, defaults={"amount": amount, "source": source, "entered_by": user}
        )
        was = None if created else limit.amount
        if not created:
            limit.amount, limit.source, limit.entered_by = amount, source.strip(), user
            limit.save()
        _log(
            GiftAction.LIMIT_SET,
            user,
            now,
            f"{year} {LimitKind(kind).label}: ${amount}"
            + ("" if was is None else f" (was ${was})"),
            limit=limit,
            details={"year": year, "kind": kind, "amount": str(amount), "was": str(was or "")},
        )
        _judge_unjudged(year=year, kind=kind, now=now, user=user)
    return limit


def _judge_unjudged(*, year: int, kind: str, now, user) -> None:
    """Shares given in `year` before its figure was entered, judged in the order given, each
    against what the physician had before it (already judged shares first)."""
    basis = Basis.NON_MONETARY if kind == LimitKind.NON_MONETARY_ANNUAL else Basis.INCIDENTAL
    waiting = list(
        GiftShare.objects.filter(
            flag=ExcessFlag.NO_LIMIT,
            item__state=GiftState.ACTUAL,
            item__basis=basis,
            item__date__year=year,
        )
        .select_related("item")
        .order_by("item__date", "item_id", "id")
    )
    ids = sorted({s.clinician_id for s in waiting})
    running = physician_year_totals(clinician_ids=ids, year=year)
    for share in waiting:
        running[share.clinician_id] -= share.amount
    for share in waiting:
        _share_judge(
            share=share, item=share.item, now=now, user=user, before=running[share.clinician_id]
        )
        running[share.clinician_id] += share.amount


# -- items ----------------------------------------------------------------------------------


def gift_plan(
    *,
    kind: str,
    description: str,
    on: dt.date,
    total,
    user,
    basis: str = Basis.NON_MONETARY,
    clinician_ids: list[int] = (),
    others: list[str] = (),
    activity_id: int | None = None,
    cash_equivalent: bool = False,
) -> GiftItem:
    """A planned item, split among its attendees, waiting for compliance. Refused in a year
    whose limit has not been entered (planning against an unknown limit is guesswork)."""
    _allow(user, PLANNER, "Your role cannot plan gifts.")
    _cash_refuse(cash_equivalent, description)
    total, attendees = _item_check(
        kind, basis, description, total, activity_id, clinician_ids, others
    )
    limit_kind = BASIS_LIMIT[Basis(basis)]
    if gift_limit_amount(year=on.year, kind=limit_kind) is None:
        raise DomainError(
            f"No {LimitKind(limit_kind).label.lower()} limit has been entered for {on.year}: "
            f"planning in {on.year} waits until an admin enters CMS's figure.",
            code="no_limit",
        )
    now = timezone.now()
    with transaction.atomic():
        item = _item_create(
            kind, basis, description, on, total, user, activity_id, attendees, GiftState.PLANNED
        )
        _log(GiftAction.PLANNED, user, now, _item_text(item), item=item)
        alerts_raise(
            specs=[
                AlertSpec(
                    key=f"gift-planned:{item.pk}",
                    recipient_ids=tuple(holders_of(APPROVER)),
                    text=f"A planned gift waits for approval: {_item_text(item)}.",
                    kind="gift_planned",
                    level=Alert.Level.INFO,
                )
            ],
            now=now,
        )
    return item


def gift_record(
    *,
    kind: str,
    description: str,
    on: dt.date,
    total,
    user,
    basis: str = Basis.NON_MONETARY,
    clinician_ids: list[int] = (),
    others: list[str] = (),
    activity_id: int | None = None,
    cash_equivalent: bool = False,
) -> GiftItem:
    """An item already given, recorded as it was: always kept, whatever the limit; any excess
    is flagged and cured where the rule allows. Cash given is kept too, flagged for compliance
    with no cure (hiding it would be worse than recording it)."""
    _allow(user, PLANNER, "Your role cannot record gifts.")
    cash = cash_equivalent or cash_words(description) is not None
    total, attendees = _item_check(
        kind, basis, description, total, activity_id, clinician_ids, others
    )
    if on > timezone.localdate():
        raise DomainError("A gift given cannot be dated in the future: plan it instead.")
    now = timezone.now()
    with transaction.atomic():
        # As for approvals: two items given to one physician recorded at once are judged one
        # after the other, so the second sees the first and an excess is never missed.
        _clinicians_lock([a.clinician_id for a in attendees if a.physician])
        item = _item_create(
            kind, basis, description, on, total, user, activity_id, attendees, GiftState.ACTUAL
        )
        item.given_at, item.cash_equivalent = now, cash
        item.save(update_fields=["given_at", "cash_equivalent"])
        _log(GiftAction.RECORDED, user, now, _item_text(item), item=item)
        _item_judge(item, now=now, user=user)
    return item


def gift_approve(*, item: GiftItem, user) -> GiftItem:
    """Compliance approves a planned item, unless a physician would pass the year's limit with
    it (approved and given items counted) or a share is not under the per-occurrence limit."""
    _allow(user, APPROVER, "Only compliance approves gifts.")
    if item.recorded_by_id == user.pk:
        raise NotAllowed("Someone other than the person who planned a gift approves it.")
    now = timezone.now()
    with transaction.atomic():
        item = _locked(item, GiftState.APPROVED)
        shares = _physician_shares(item)
        _clinicians_lock(shares)
        limit_kind = BASIS_LIMIT[Basis(item.basis)]
        limit = gift_limit_amount(year=item.date.year, kind=limit_kind)
        if limit is None:
            raise DomainError(
                f"No limit has been entered for {item.date.year}: an admin enters CMS's figure "
                "before anything planned that year is approved.",
                code="no_limit",
            )
        if item.basis == Basis.INCIDENTAL:
            for share in shares:
                if not incidental_within(share.amount, limit):
                    raise DomainError(
                        f"{share.name}'s share ${share.amount} is not under the {item.date.year} "
                        f"per-occurrence limit for incidental benefits (less than ${limit}).",
                        code="over_limit",
                    )
        else:
            ytd = physician_year_totals(
                clinician_ids=[s.clinician_id for s in shares],
                year=item.date.year,
                states=COMMITTED_STATES,
                exclude_item_id=item.pk,
            )
            for share in shares:
                before = ytd[share.clinician_id]
                if before + share.amount > limit:
                    raise DomainError(
                        f"{share.name} would pass the {item.date.year} limit: ${before} so far "
                        f"this year (given and approved) plus ${share.amount} is "
                        f"${before + share.amount}, over the limit of ${limit}.",
                        code="over_limit",
                    )
        GiftItem.objects.filter(pk=item.pk).update(
            state=GiftState.APPROVED, approved_by=user, approved_at=now
        )
        item.refresh_from_db()
        _log(GiftAction.APPROVED, user, now, _item_text(item), item=item)
        alerts_raise(
            specs=[
                AlertSpec(
                    key=f"gift-approved:{item.pk}",
                    recipient_ids=(item.recorded_by_id,),
                    text=f"Your planned gift was approved: {_item_text(item)}.",
                    kind="gift_approved",
                    level=Alert.Level.INFO,
                )
            ],
            now=now,
        )
    return item


def gift_record_actual(*, item: GiftItem, user, on: dt.date | None = None) -> GiftItem:
    """A planned or approved item was given (on `on`, its planned date by default). Recorded
    whatever the limit: an unapproved one is given all the same and judged like any other."""
    _allow(user, PLANNER, "Your role cannot record gifts.")
    on = on or item.date
    if on > timezone.localdate():
        raise DomainError("A gift given cannot be dated in the future.")
    now = timezone.now()
    with transaction.atomic():
        item = _locked(item, GiftState.ACTUAL)
        was = item.state
        _clinicians_lock(_physician_shares(item))
        GiftItem.objects.filter(pk=item.pk).update(state=GiftState.ACTUAL, date=on, given_at=now)
        item.refresh_from_db()
        note = "" if was == GiftState.APPROVED else " (given without approval)"
        _log(GiftAction.RECORDED, user, now, _item_text(item) + note, item=item)
        _item_judge(item, now=now, user=user)
    return item


def gift_cancel(*, item: GiftItem, user, reason: str) -> GiftItem:
    """A planned or approved item that will not be given."""
    if not (user_can(user, PLANNER) or user_can(user, APPROVER)):
        raise NotAllowed("Your role cannot cancel gifts.")
    if not reason.strip():
        raise DomainError("Say why the gift is cancelled.", code="reason_required")
    now = timezone.now()
    with transaction.atomic():
        item = _locked(item, GiftState.CANCELLED)
        GiftItem.objects.filter(pk=item.pk).update(state=GiftState.CANCELLED)
        item.refresh_from_db()
        _log(
            GiftAction.CANCELLED,
            user,
            now,
            f"{_item_text(item)}: {reason.strip()[:120]}",
            item=item,
        )
    return item


# -- cures ----------------------------------------------------------------------------------


def cure_repay(*, cure: Cure, repaid_on: dt.date, amount, user) -> Cure:
    """The physician returned the excess (or its value) on time: the cure is repaid and the
    year's total drops back to the limit."""
    _allow(user, APPROVER, "Only compliance records a repayment.")
    amount = _money_in(amount, what="The amount repaid")
    now = timezone.now()
    with transaction.atomic():
        cure = Cure.objects.select_for_update().select_related("clinician").get(pk=cure.pk)
        if cure.state != CureState.OPEN:
            raise Conflict(f"This cure is already {cure.get_state_display().lower()}.")
        if repaid_on > timezone.localdate():
            raise DomainError("A repayment cannot be dated in the future.")
        if repaid_on < cure.received_on:
            raise DomainError(f"The excess was received on {cure.received_on}: repaid after that.")
        if repaid_on > cure.due_on:
            raise DomainError(
                f"Repaid on {repaid_on}, after the due date {cure.due_on}: 411.357(k)(3) is not "
                "met and the cure fails (the daily job marks it).",
                code="cure_late",
            )
        if amount < cure.excess:
            raise DomainError(
                f"The physician must return the whole excess, ${cure.excess}; ${amount} is not "
                "enough.",
                code="cure_short",
            )
        Cure.objects.filter(pk=cure.pk).update(
            state=CureState.REPAID, repaid_on=repaid_on, repaid_amount=amount, closed_at=now
        )
        cure.refresh_from_db()
        _log(
            GiftAction.CURE_REPAID,
            user,
            now,
            f"{cure.clinician} repaid ${amount} on {repaid_on} ({cure.year} excess ${cure.excess})",
            cure=cure,
        )
    return cure


def cure_fail(*, cure_id: int, today: dt.date, now: dt.datetime | None = None) -> bool:
    """An open cure past its due date without repayment fails; compliance is alerted. The
    conditional UPDATE is the claim: of two schedulers only one fails it and alerts."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Cure.objects.filter(pk=cure_id, state=CureState.OPEN, due_on__lt=today).update(
            state=CureState.FAILED, closed_at=now, note="Not repaid by the due date."
        )
        if not claimed:
            return False
        cure = Cure.objects.select_related("clinician").get(pk=cure_id)
        text = (
            f"Repayment cure failed: {cure.clinician} did not return the {cure.year} excess of "
            f"${cure.excess} by {cure.due_on}. The excess is not protected by 411.357(k)."
        )
        _log(GiftAction.CURE_FAILED, None, now, text, cure=cure)
        _alert_compliance(key=f"gift-cure-failed:{cure.pk}", text=text, urgent=True, now=now)
    return True


# -- judging what was given -----------------------------------------------------------------


def _item_judge(item: GiftItem, *, now, user) -> None:
    for share in _physician_shares(item):
        if item.cash_equivalent:
            _cash_flag(share=share, item=item, now=now, user=user)
        else:
            _share_judge(share=share, item=item, now=now, user=user)


def _cash_flag(*, share: GiftShare, item: GiftItem, now, user) -> None:
    """Cash fits no exception: the whole share is flagged, no cure, compliance told at once."""
    _flag(share, ExcessFlag.CASH, excess=share.amount)
    text = (
        f"{share.name} received cash or a cash equivalent (${share.amount}) on {item.date}: "
        "no exception allows it and no cure applies."
    )
    _log(GiftAction.EXCESS_NOT_CURABLE, user, now, text, item=item)
    _alert_compliance(key=f"gift-cash:{share.pk}", text=text, urgent=True, now=now)


def _share_judge(
    *, share: GiftShare, item: GiftItem, now, user, before: Decimal | None = None
) -> None:
    """Judge one physician's share of an item given. `before`: what they had that year before
    it (by default every other item given that year, less repaid excess)."""
    limit_kind = BASIS_LIMIT[Basis(item.basis)]
    year = item.date.year
    limit = gift_limit_amount(year=year, kind=limit_kind)
    if limit is None:
        _flag(share, ExcessFlag.NO_LIMIT, excess=Decimal("0"))
        _alert_compliance(
            key=f"gift-no-limit:{year}:{limit_kind}",
            text=f"A gift was given in {year}, which has no limit entered: an admin enters "
            "CMS's figure so it can be judged.",
            urgent=False,
            now=now,
        )
        return
    if item.basis == Basis.INCIDENTAL:
        if incidental_within(share.amount, limit):
            if share.flag:
                _flag(share, ExcessFlag.NONE, excess=Decimal("0"))
        else:
            _flag(share, ExcessFlag.OVER_INCIDENTAL, excess=share.amount - limit)
            text = (
                f"{share.name} received an incidental benefit of ${share.amount} on {item.date}, "
                f"not under the {year} per-occurrence limit (less than ${limit}). No cure applies."
            )
            _log(GiftAction.EXCESS_NOT_CURABLE, user, now, text, item=item)
            _alert_compliance(key=f"gift-excess:{share.pk}", text=text, urgent=True, now=now)
        return
    if before is None:
        # A person has one share of an item, so every other item is all they had before it.
        before = physician_year_totals(
            clinician_ids=[share.clinician_id], year=year, exclude_item_id=item.pk
        )[share.clinician_id]
    others = before
    after = others + share.amount
    if after <= limit:
        if share.flag:
            _flag(share, ExcessFlag.NONE, excess=Decimal("0"))
        return
    new_excess = after - max(others, limit)
    _excess_handle(
        share,
        item,
        new_excess=new_excess,
        year_excess=after - limit,
        limit=limit,
        now=now,
        user=user,
    )


def _excess_handle(share, item, *, new_excess, year_excess, limit, now, user) -> None:
    """Open or grow the year's cure where (k)(3) allows it; otherwise flag it as not curable."""
    year = item.date.year
    cure = (
        Cure.objects.select_for_update().filter(clinician_id=share.clinician_id, year=year).first()
    )
    if cure is not None and cure.state == CureState.OPEN:
        grown = cure.excess + new_excess
        if cure_covers(grown, limit):
            Cure.objects.filter(pk=cure.pk).update(excess=grown)
            _flag(share, ExcessFlag.CURE, excess=new_excess, cure=cure)
            text = (
                f"{share.name}'s {year} excess grew to ${grown} (limit ${limit}): repay it all "
                f"by {cure.due_on}."
            )
            _log(GiftAction.CURE_GREW, user, now, text, item=item, cure=cure)
            _alert_compliance(key=f"gift-cure-grew:{share.pk}", text=text, urgent=False, now=now)
            return
        Cure.objects.filter(pk=cure.pk).update(
            state=CureState.FAILED,
            closed_at=now,
            note=f"The year's excess reached ${grown}, more than half the limit.",
        )
        reason = f"the year's excess ${grown} is more than half the ${limit} limit"
    elif cure is not None:
        reason = f"the {year} cure was already {cure.get_state_display().lower()}"
    else:
        used = (
            Cure.objects.filter(
                clinician_id=share.clinician_id,
                state__in=USED_CURE_STATES,
                received_on__gt=cure_window_start(item.date),
            )
            .order_by("-received_on")
            .first()
        )
        if used is not None:
            reason = f"a cure was already used within three years ({used.received_on})"
        elif not cure_covers(year_excess, limit):
            reason = f"the excess ${year_excess} is more than half the ${limit} limit"
        else:
            cure = Cure.objects.create(
                clinician_id=share.clinician_id,
                year=year,
                excess=year_excess,
                limit=limit,
                received_on=item.date,
                due_on=cure_due_date(item.date),
            )
            _flag(share, ExcessFlag.CURE, excess=new_excess, cure=cure)
            text = (
                f"{share.name} received ${year_excess} over the {year} limit of ${limit} "
                f"({item.description}, {item.date}): repayment cure open, the excess must be "
                f"returned by {cure.due_on}."
            )
            _log(GiftAction.CURE_OPENED, user, now, text, item=item, cure=cure)
            _alert_compliance(key=f"gift-cure:{cure.pk}", text=text, urgent=False, now=now)
            return
    _flag(share, ExcessFlag.NOT_CURABLE, excess=new_excess)
    text = (
        f"{share.name} is ${year_excess} over the {year} limit of ${limit} "
        f"({item.description}, {item.date}) and it cannot be cured: {reason}."
    )
    _log(GiftAction.EXCESS_NOT_CURABLE, user, now, text, item=item)
    _alert_compliance(key=f"gift-excess:{share.pk}", text=text, urgent=True, now=now)


# -- helpers --------------------------------------------------------------------------------


def _allow(user, permission: str, message: str) -> None:
    if not user_can(user, permission):
        raise NotAllowed(message)


def _money_in(value, *, what: str) -> Decimal:
    try:
        amount = money(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError(f"{what} must be an amount in dollars and cents, like 187.50.") from None
    if amount <= 0:
        raise DomainError(f"{what} must be more than $0.")
    if amount > MAX_TOTAL:
        raise DomainError(f"{what} of ${amount} is more than the ledger accepts (${MAX_TOTAL}).")
    return amount


def _cash_refuse(cash_equivalent: bool, description: str) -> None:
    if cash_equivalent:
        raise DomainError(CASH_REFUSED, code="cash")
    words = cash_words(description)
    if words:
        raise DomainError(f"The description names '{words}'. {CASH_REFUSED}", code="cash")


def _item_check(
    kind, basis, description, total, activity_id, clinician_ids, others
) -> tuple[Decimal, list[Attendee]]:
    if kind not in GiftKind.values:
        raise DomainError("Choose what kind of item this is.", code="kind")
    if basis not in Basis.values:
        raise DomainError("Choose the exception the item is given under.", code="basis")
    if not description.strip():
        raise DomainError("Describe the item (what it was, for whom).", code="description")
    total = _money_in(total, what="The total")
    attendees = attendees_resolve(
        activity_id=activity_id, clinician_ids=list(clinician_ids), others=list(others)
    )
    if not attendees:
        raise DomainError("Name who received it: at least one clinician or person.")
    if not any(a.physician for a in attendees):
        raise DomainError(
            "No physician is among the people named: the ledger tracks what physicians receive.",
            code="no_physician",
        )
    return total, attendees


def _item_create(kind, basis, description, on, total, user, activity_id, attendees, state):
    item = GiftItem.objects.create(
        kind=kind,
        basis=basis,
        description=description.strip(),
        date=on,
        total=total,
        state=state,
        activity_id=activity_id,
        recorded_by=user,
    )
    GiftShare.objects.bulk_create(
        GiftShare(
            item=item,
            clinician_id=attendee.clinician_id,
            name=attendee.name[:200],
            physician=attendee.physician,
            amount=amount,
        )
        for attendee, amount in split_equally(total, attendees)
    )
    return item


def _locked(item: GiftItem, to: str) -> GiftItem:
    item = GiftItem.objects.select_for_update().get(pk=item.pk)
    if to not in TRANSITIONS[item.state]:
        raise Conflict(
            f"This gift is {item.get_state_display().lower()}: it cannot be "
            f"{GiftState(to).label.lower()} now.",
            code="gift_state",
        )
    return item


def _physician_shares(item: GiftItem) -> list[GiftShare]:
    return list(item.shares.filter(physician=True).order_by("clinician_id"))


def _clinicians_lock(shares: list[GiftShare] | list[int]) -> None:
    """Two approvals or records for one physician at once are serialised here, so both cannot
    pass the limit (on SQLite the IMMEDIATE transaction already serialises writers). `shares`:
    the physicians' shares, or their clinician ids."""
    ids = sorted({s if isinstance(s, int) else s.clinician_id for s in shares})
    list(Clinician.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))


def _flag(share: GiftShare, flag: str, *, excess: Decimal, cure: Cure | None = None) -> None:
    share.flag, share.excess, share.cure = flag, money(excess), cure
    share.save(update_fields=["flag", "excess", "cure"])


def _item_text(item: GiftItem) -> str:
    return f"{item.get_kind_display()} '{item.description}' on {item.date}, ${item.total}"


def _log(action, user, now, text, *, item=None, cure=None, limit=None, details=None):
    GiftLogEntry.objects.create(
        at=now,
        actor=user,
        action=action,
        item=item,
        cure=cure,
        limit=limit,
        text=text[:300],
        details=details or {},
    )


def _alert_compliance(*, key: str, text: str, urgent: bool, now) -> None:
    alerts_raise(
        specs=[
            AlertSpec(
                key=key,
                recipient_ids=tuple(holders_of(APPROVER)),
                text=text,
                kind="gift_limit",
                level=Alert.Level.URGENT if urgent else Alert.Level.WARNING,
            )
        ],
        now=now,
    )
