"""The ledger's state changes, with figures worked by hand against the 2026 limit of $535."""

import datetime as dt
from decimal import Decimal

import pytest

from refloop.alerts.models import Alert
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.directory.models import Organization
from refloop.gifts.enums import CureState, ExcessFlag, GiftAction, GiftState, LimitKind
from refloop.gifts.models import Cure, GiftItem, GiftLimit, GiftLogEntry, GiftShare
from refloop.gifts.queries import gift_ledger
from refloop.gifts.services import (
    cure_repay,
    gift_approve,
    gift_cancel,
    gift_limit_set,
    gift_plan,
    gift_record_actual,
)
from refloop.outreach.models import Activity, ActivityAttendee

from .conftest import LIMIT, YEAR, doctor, given

D = Decimal


def lunch(user, physicians, on, total="187.50", others=("Office manager", "Coordinator"), **kw):
    return gift_plan(
        kind="meal",
        description="Lunch-and-learn: knee referrals",
        on=on,
        total=total,
        user=user,
        clinician_ids=[p.pk for p in physicians],
        others=list(others),
        **kw,
    )


def test_it_seeds_the_issues_figures_and_leaves_2025_to_the_admin(db):
    annual = dict(
        GiftLimit.objects.filter(kind=LimitKind.NON_MONETARY_ANNUAL).values_list("year", "amount")
    )
    assert annual == {
        2020: D("423"),
        2021: D("429"),
        2022: D("452"),
        2023: D("489"),
        2024: D("507"),
        2026: D("535"),
    }
    incidental = dict(
        GiftLimit.objects.filter(kind=LimitKind.INCIDENTAL_PER_OCCURRENCE).values_list(
            "year", "amount"
        )
    )
    assert incidental == {2020: D("36"), 2021: D("37"), 2022: D("39"), 2023: D("42"), 2024: D("44")}


def test_it_splits_a_planned_lunch_among_physicians_and_staff(liaison, physicians, on_day):
    item = lunch(liaison, physicians, on_day)
    shares = list(
        item.shares.order_by("-physician", "name").values_list("name", "physician", "amount")
    )
    assert [s[2] for s in shares] == [D("31.25")] * 6
    assert sum(1 for s in shares if s[1]) == 4
    assert item.state == GiftState.PLANNED
    assert GiftLogEntry.objects.filter(item=item, action=GiftAction.PLANNED).count() == 1


def test_it_refuses_planning_in_a_year_with_no_limit(liaison, physicians):
    with pytest.raises(DomainError) as caught:
        lunch(liaison, physicians, dt.date(2025, 5, 1))
    assert "2025" in caught.value.message and caught.value.code == "no_limit"
    assert not GiftItem.objects.exists()


def test_it_never_plans_cash_or_cash_equivalents(liaison, physicians, on_day):
    with pytest.raises(DomainError) as ticked:
        lunch(liaison, physicians, on_day, cash_equivalent=True)
    assert "never allowed" in ticked.value.message
    with pytest.raises(DomainError) as named:
        gift_plan(
            kind="gift",
            description="$25 coffee gift card",
            on=on_day,
            total="25",
            user=liaison,
            clinician_ids=[physicians[0].pk],
        )
    assert "gift card" in named.value.message
    assert not GiftItem.objects.exists()


def test_it_keeps_cash_already_given_flagged_for_compliance_with_no_cure(
    liaison, compliance, physicians, on_day
):
    given(liaison, [physicians[0]], "100.00", on_day - dt.timedelta(days=3))
    item = given(liaison, [physicians[0]], "25", on_day, kind="gift", description="Gift card")
    share = item.shares.get()
    assert item.state == GiftState.ACTUAL and item.cash_equivalent
    assert share.flag == ExcessFlag.CASH and share.excess == D("25.00")
    assert not Cure.objects.exists()
    assert Alert.objects.filter(recipient=compliance, level=Alert.Level.URGENT).exists()
    # Cash is no part of the non-monetary total: the physician has had $100.00 of it.
    _, rows = gift_ledger(year=on_day.year, clinician_id=physicians[0].pk)
    assert rows[0].total == D("100.00") and ExcessFlag.CASH in rows[0].flags


def test_it_approves_a_lunch_that_keeps_everyone_inside_the_limit(
    liaison, compliance, physicians, on_day
):
    given(liaison, [physicians[0]], "503.75", on_day - dt.timedelta(days=5))
    item = lunch(liaison, physicians, on_day)
    # Avery: 503.75 + 31.25 = 535.00, exactly the limit ("does not exceed").
    item = gift_approve(item=item, user=compliance)
    assert item.state == GiftState.APPROVED and item.approved_by == compliance
    assert Alert.objects.filter(recipient=liaison, kind="gift_approved").count() == 1


def test_it_will_not_approve_what_would_pass_a_physicians_limit(
    liaison, compliance, physicians, on_day
):
    given(liaison, [physicians[0]], "510.00", on_day - dt.timedelta(days=5))
    item = lunch(liaison, physicians, on_day)
    with pytest.raises(DomainError) as caught:
        gift_approve(item=item, user=compliance)
    message = caught.value.message
    assert "Pat Avery, MD" in message and "$510.00" in message and "$535" in message
    assert "$541.25" in message
    item.refresh_from_db()
    assert item.state == GiftState.PLANNED


def test_it_counts_approved_items_not_yet_given_when_approving(
    liaison, liaison2, compliance, physicians, on_day
):
    first = gift_plan(
        kind="gift",
        description="Anatomy model",
        on=on_day,
        total="400",
        user=liaison,
        clinician_ids=[physicians[0].pk],
    )
    gift_approve(item=first, user=compliance)
    second = lunch(liaison2, physicians, on_day, total="600.00", others=())  # 150 each
    with pytest.raises(DomainError, match=r"\$400\.00 so far"):
        gift_approve(item=second, user=compliance)


def test_it_does_not_let_the_planner_approve_their_own_gift(admin_user, physicians, on_day):
    item = lunch(admin_user, physicians, on_day)
    with pytest.raises(NotAllowed):
        gift_approve(item=item, user=admin_user)


def test_it_does_not_let_a_liaison_approve(liaison, liaison2, physicians, on_day):
    item = lunch(liaison, physicians, on_day)
    with pytest.raises(NotAllowed):
        gift_approve(item=item, user=liaison2)


def test_it_records_an_excess_and_opens_a_cure_within_half_the_limit(
    liaison, compliance, physicians, nurse, on_day
):
    given(liaison, [physicians[0]], "510.00", dt.date(YEAR, 3, 1))
    item = given(liaison, [*physicians, nurse], "187.50", on_day, others=["Coordinator"])
    # 6 people, 31.25 each; Avery now 541.25, 6.25 over 535.
    cure = Cure.objects.get()
    assert (cure.clinician, cure.excess, cure.limit) == (physicians[0], D("6.25"), LIMIT)
    assert (cure.received_on, cure.due_on) == (on_day, dt.date(YEAR, 9, 6))
    share = GiftShare.objects.get(item=item, clinician=physicians[0])
    assert (share.flag, share.excess, share.cure) == (ExcessFlag.CURE, D("6.25"), cure)
    assert not GiftShare.objects.filter(item=item).exclude(clinician=physicians[0]).exclude(flag="")
    assert Alert.objects.filter(recipient=compliance, kind="gift_limit").count() == 1
    limit, rows = gift_ledger(year=YEAR)
    avery = next(r for r in rows if r.clinician_id == physicians[0].pk)
    assert (avery.total, avery.excess, avery.headroom) == (D("541.25"), D("6.25"), D("0"))
    assert nurse.pk not in {r.clinician_id for r in rows}  # an NP shares, but has no limit


def test_it_grows_an_open_cure_and_fails_it_past_half_the_limit(liaison, physicians, on_day):
    avery = physicians[0]
    given(liaison, [avery], "545.00", on_day)  # 10.00 over: cure
    given(liaison, [avery], "100.00", on_day + dt.timedelta(days=1))  # 110.00 over: grows
    cure = Cure.objects.get()
    assert (cure.excess, cure.state) == (D("110.00"), CureState.OPEN)
    given(liaison, [avery], "200.00", on_day + dt.timedelta(days=2))  # 310 > 267.50
    cure.refresh_from_db()
    assert cure.state == CureState.FAILED
    last = GiftShare.objects.filter(clinician=avery).order_by("-item__date").first()
    assert (last.flag, last.excess) == (ExcessFlag.NOT_CURABLE, D("200.00"))


def test_it_flags_an_excess_over_half_the_limit_as_not_curable(
    liaison, compliance, physicians, on_day
):
    given(liaison, [physicians[0]], "535.00", on_day)
    given(liaison, [physicians[0]], "300.00", on_day + dt.timedelta(days=1))
    assert not Cure.objects.exists()
    share = GiftShare.objects.get(flag=ExcessFlag.NOT_CURABLE)
    assert share.excess == D("300.00")
    alert = Alert.objects.get(recipient=compliance, level=Alert.Level.URGENT)
    assert "more than half" in alert.text


def test_it_allows_one_cure_in_three_years(liaison, compliance, physicians):
    avery, brook = physicians[0], physicians[1]
    # 2024 (limit $507): 20.00 over, repaid on time.
    given(liaison, [avery, brook], "1054.00", dt.date(2024, 5, 1))  # 527.00 each
    for cure in Cure.objects.all():
        cure_repay(cure=cure, repaid_on=dt.date(2024, 6, 1), amount="20.00", user=compliance)
    # 2026-03-10 is within three years of 2024-05-01: no second cure for either.
    given(liaison, [avery], "545.00", dt.date(2026, 3, 10))
    share = GiftShare.objects.get(item__date=dt.date(2026, 3, 10))
    assert share.flag == ExcessFlag.NOT_CURABLE
    assert Cure.objects.filter(year=2026).count() == 0
    assert (
        "within three years (2024-05-01)"
        in GiftLogEntry.objects.get(action=GiftAction.EXCESS_NOT_CURABLE).text
    )


def test_it_allows_a_new_cure_once_three_years_have_passed(liaison, compliance, physicians):
    avery = physicians[0]
    given(liaison, [avery], "499.00", dt.date(2023, 3, 1))  # 10.00 over 489
    cure_repay(cure=Cure.objects.get(), repaid_on=dt.date(2023, 4, 1), amount="10", user=compliance)
    given(liaison, [avery], "545.00", dt.date(2026, 3, 10))
    assert Cure.objects.get(year=2026).excess == D("10.00")


def test_it_records_a_repayment_and_the_total_drops_back_to_the_limit(
    liaison, compliance, physicians, on_day
):
    given(liaison, [physicians[0]], "545.00", on_day)
    cure = Cure.objects.get()
    with pytest.raises(DomainError, match=r"whole excess, \$10\.00"):
        cure_repay(cure=cure, repaid_on=on_day, amount="9.99", user=compliance)
    with pytest.raises(DomainError, match="after the due date"):
        cure_repay(cure=cure, repaid_on=dt.date(YEAR, 9, 7), amount="10", user=compliance)
    cure = cure_repay(cure=cure, repaid_on=dt.date(YEAR, 4, 1), amount="10.00", user=compliance)
    assert cure.state == CureState.REPAID
    _, rows = gift_ledger(year=YEAR)
    assert (rows[0].total, rows[0].excess, rows[0].repaid) == (D("535.00"), D("0"), D("10.00"))
    with pytest.raises(Conflict):
        cure_repay(cure=cure, repaid_on=dt.date(YEAR, 4, 1), amount="10.00", user=compliance)


def test_it_gives_an_approved_item_and_judges_it(liaison, compliance, physicians, on_day):
    item = lunch(liaison, physicians, on_day)
    gift_approve(item=item, user=compliance)
    item = gift_record_actual(item=item, user=liaison, on=on_day + dt.timedelta(days=1))
    assert item.state == GiftState.ACTUAL and item.date == on_day + dt.timedelta(days=1)
    _, rows = gift_ledger(year=YEAR)
    assert {r.total for r in rows} == {D("31.25")}
    with pytest.raises(Conflict):
        gift_record_actual(item=item, user=liaison)


def test_it_cancels_a_planned_item(liaison, physicians, on_day):
    item = gift_cancel(item=lunch(liaison, physicians, on_day), user=liaison, reason="Moved online")
    assert item.state == GiftState.CANCELLED
    _, rows = gift_ledger(year=YEAR)
    assert rows == []


def test_it_keeps_incidental_benefits_under_the_per_occurrence_figure(
    liaison, compliance, physicians
):
    on = dt.date(2024, 2, 1)  # 2024: less than $44 per occurrence
    ok = gift_plan(
        kind="meal",
        basis="incidental",
        description="Doctors' lounge breakfast",
        on=on,
        total="87.98",
        user=liaison,
        clinician_ids=[physicians[0].pk, physicians[1].pk],
    )
    assert gift_approve(item=ok, user=compliance).state == GiftState.APPROVED  # 43.99 each
    too_much = gift_plan(
        kind="meal",
        basis="incidental",
        description="Doctors' lounge dinner",
        on=on,
        total="88.00",
        user=liaison,
        clinician_ids=[physicians[0].pk, physicians[1].pk],
    )
    with pytest.raises(DomainError, match=r"less than \$44"):
        gift_approve(item=too_much, user=compliance)
    given(liaison, [physicians[2]], "44.00", on, basis="incidental", description="Dinner")
    share = GiftShare.objects.get(clinician=physicians[2])
    assert share.flag == ExcessFlag.OVER_INCIDENTAL
    assert not Cure.objects.exists()  # (k)(3) does not reach incidental benefits
    _, rows = gift_ledger(year=2024)
    assert all(r.total == 0 for r in rows)  # incidental benefits are not in the annual total


def test_it_refuses_incidental_planning_until_its_figure_is_entered(liaison, physicians, on_day):
    with pytest.raises(DomainError, match="2026"):
        gift_plan(
            kind="meal",
            basis="incidental",
            description="Lounge lunch",
            on=on_day,
            total="30",
            user=liaison,
            clinician_ids=[physicians[0].pk],
        )


def test_it_records_a_gift_in_a_year_without_a_limit_and_judges_it_when_entered(
    liaison, admin_user, physicians
):
    avery = physicians[0]
    given(liaison, [avery], "300.00", dt.date(2025, 2, 1))
    given(liaison, [avery], "300.00", dt.date(2025, 3, 1))
    assert set(GiftShare.objects.values_list("flag", flat=True)) == {ExcessFlag.NO_LIMIT}
    with pytest.raises(NotAllowed):
        gift_limit_set(
            year=2025,
            kind=LimitKind.NON_MONETARY_ANNUAL,
            amount="500",
            source="test figure",
            user=liaison,
        )
    gift_limit_set(
        year=2025,
        kind=LimitKind.NON_MONETARY_ANNUAL,
        amount="500",
        source="test figure",
        user=admin_user,
    )
    flags = list(GiftShare.objects.order_by("item__date").values_list("flag", "excess"))
    # 300 within; 300 + 300 = 600: the second share is 100 over (one cure, not two).
    assert flags == [("", D("0")), (ExcessFlag.CURE, D("100.00"))]
    cure = Cure.objects.get()
    assert (cure.excess, cure.received_on, cure.due_on) == (
        D("100.00"),
        dt.date(2025, 3, 1),
        dt.date(2025, 8, 28),
    )


def test_it_needs_a_source_for_a_limit(admin_user):
    with pytest.raises(DomainError, match="where the figure comes from"):
        gift_limit_set(
            year=2025, kind=LimitKind.NON_MONETARY_ANNUAL, amount="500", source=" ", user=admin_user
        )


def test_it_splits_among_those_who_attended_the_activity(liaison, physicians, nurse, on_day):
    from django.utils import timezone

    activity = Activity.objects.create(
        kind="lunch_and_learn", title="Knee pain lunch", starts_at=timezone.now(), liaison=liaison
    )
    for person, came in (
        (physicians[0], True),
        (physicians[1], True),
        (physicians[2], False),
        (nurse, True),
    ):
        ActivityAttendee.objects.create(activity=activity, clinician=person, attended=came)
    item = gift_plan(
        kind="meal",
        description="Lunch",
        on=on_day,
        total="100.00",
        user=liaison,
        activity_id=activity.pk,
        others=["Front desk"],
    )
    shares = dict(item.shares.values_list("name", "amount"))
    # Avery, Brook, the NP and the front desk: 25.00 each; Chen did not come.
    assert shares == {
        "Pat Avery, MD": D("25.00"),
        "Pat Brook, MD": D("25.00"),
        "Pat Ellis, NP": D("25.00"),
        "Front desk": D("25.00"),
    }


def test_it_wants_a_physician_among_the_people(liaison, nurse, on_day):
    with pytest.raises(DomainError, match="No physician"):
        gift_plan(
            kind="meal",
            description="Lunch",
            on=on_day,
            total="20",
            user=liaison,
            clinician_ids=[nurse.pk],
        )


def test_it_refuses_an_amount_that_is_not_money(liaison, physicians, on_day):
    for bad in ("abc", "0", "-5", ""):
        with pytest.raises(DomainError):
            lunch(liaison, physicians, on_day, total=bad)


def test_it_logs_every_change_append_only(liaison, compliance, physicians, on_day):
    from django.db import IntegrityError, transaction

    item = lunch(liaison, physicians, on_day)
    gift_approve(item=item, user=compliance)
    assert list(GiftLogEntry.objects.order_by("id").values_list("action", flat=True)) == [
        GiftAction.PLANNED,
        GiftAction.APPROVED,
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        GiftLogEntry.objects.update(text="changed")


def test_it_names_a_physician_by_credentials_only(liaison, on_day):
    dentist = doctor("Fox", "DDS")
    item = gift_plan(
        kind="gift",
        description="Textbook",
        on=on_day,
        total="80",
        user=liaison,
        clinician_ids=[dentist.pk],
    )
    assert item.shares.get().physician


def test_it_splits_a_meal_with_the_office_staff_the_visit_recorded(liaison, physicians, on_day):
    from django.utils import timezone

    from refloop.relations.models import OfficeContact

    practice = Organization.objects.create(name="Elm Street", kind="referring_practice")
    coordinator = OfficeContact.objects.create(
        organization=practice, name="Rae Okafor", role="referral_coordinator"
    )
    activity = Activity.objects.create(
        kind="lunch_and_learn",
        title="Lunch",
        starts_at=timezone.now(),
        liaison=liaison,
        office_staff="Lee Marsh, practice manager\n",
    )
    activity.contacts.add(coordinator)
    ActivityAttendee.objects.create(activity=activity, clinician=physicians[0], attended=True)
    item = gift_plan(
        kind="meal",
        description="Lunch",
        on=on_day,
        total="60.00",
        user=liaison,
        activity_id=activity.pk,
        others=["lee marsh"],  # named on the form too: one person, one share
    )
    # The physician, the coordinator on file and the practice manager: 20.00 each, not 60.00.
    assert sorted(item.shares.values_list("amount", flat=True)) == [D("20.00")] * 3
