"""Two compliance reviewers approving at once on PostgreSQL: two lunches that each fit under a
physician's limit but not together cannot both be approved."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from refloop.core.errors import DomainError
from refloop.core.roles import Role
from refloop.gifts import services
from refloop.gifts.enums import GiftState, LimitKind
from refloop.gifts.models import GiftItem, GiftLimit
from tests import factories

from .conftest import YEAR, doctor, given

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]


def test_it_approves_only_one_of_two_items_that_together_pass_the_limit(
    liaison, compliance, monkeypatch
):
    GiftLimit.objects.get_or_create(
        year=YEAR,
        kind=LimitKind.NON_MONETARY_ANNUAL,
        defaults={"amount": Decimal("535"), "source": "issue 6"},
    )
    second_reviewer = factories.person(Role.COMPLIANCE, username="compliance2")
    avery = doctor("Avery")
    given(liaison, [avery], "500.00", dt.date(YEAR, 3, 1))
    items = [
        services.gift_plan(
            kind="meal",
            description=f"Lunch {n}",
            on=dt.date(YEAR, 4, n),
            total="30.00",
            user=liaison,
            clinician_ids=[avery.pk],
        )
        for n in (1, 2)
    ]
    # Both read Avery's year before either writes, unless the lock keeps the second waiting.
    real = services.physician_year_totals

    def slow_totals(**kwargs):
        totals = real(**kwargs)
        time.sleep(0.4)
        return totals

    monkeypatch.setattr(services, "physician_year_totals", slow_totals)
    barrier = threading.Barrier(2)
    outcome = {}

    def approve(item, user):
        try:
            barrier.wait(timeout=10)
            services.gift_approve(item=item, user=user)
            outcome[item.pk] = "approved"
        except DomainError as error:
            outcome[item.pk] = error.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=approve, args=(item, user))
        for item, user in zip(items, (compliance, second_reviewer), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcome.values()) == ["approved", "over_limit"]
    assert GiftItem.objects.filter(state=GiftState.APPROVED).count() == 1


def test_it_flags_the_excess_of_two_items_given_that_are_recorded_at_once(
    liaison, liaison2, monkeypatch
):
    """Two liaisons record lunches given to one physician at the same moment: each fits under
    the limit alone, together they pass it, so the second judged must be flagged."""
    from refloop.gifts.enums import ExcessFlag
    from refloop.gifts.models import GiftShare

    GiftLimit.objects.get_or_create(
        year=YEAR,
        kind=LimitKind.NON_MONETARY_ANNUAL,
        defaults={"amount": Decimal("535"), "source": "issue 6"},
    )
    avery = doctor("Avery")
    given(liaison, [avery], "500.00", dt.date(YEAR, 3, 1))
    real = services.physician_year_totals

    def slow_totals(**kwargs):
        totals = real(**kwargs)
        time.sleep(0.4)
        return totals

    monkeypatch.setattr(services, "physician_year_totals", slow_totals)
    barrier = threading.Barrier(2)
    errors = []

    def record(n, user):
        try:
            barrier.wait(timeout=10)
            given(user, [avery], "30.00", dt.date(YEAR, 4, n), description=f"Lunch {n}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=record, args=(n, user)) for n, user in ((1, liaison), (2, liaison2))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    flags = sorted(
        GiftShare.objects.filter(
            clinician=avery, item__description__startswith="Lunch "
        ).values_list("flag", flat=True)
    )
    assert flags == sorted([ExcessFlag.NONE, ExcessFlag.CURE])
