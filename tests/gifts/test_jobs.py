"""Cures past due without repayment fail, and compliance hears of it once."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.gifts.enums import CureState, GiftAction
from refloop.gifts.jobs import JOBS, gift_cures_overdue
from refloop.gifts.models import Cure, GiftLogEntry
from refloop.gifts.services import cure_repay

from .conftest import YEAR, given


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))


def test_it_fails_a_cure_the_day_after_it_was_due_and_alerts_compliance(
    liaison, compliance, physicians, on_day
):
    given(liaison, [physicians[0]], "545.00", on_day)
    cure = Cure.objects.get()
    assert cure.due_on == dt.date(YEAR, 9, 6)
    assert gift_cures_overdue(at(dt.date(YEAR, 9, 6))) == 0  # due that day: still open
    assert gift_cures_overdue(at(dt.date(YEAR, 9, 7))) == 1
    cure.refresh_from_db()
    assert cure.state == CureState.FAILED
    alert = Alert.objects.get(recipient=compliance, kind="gift_limit", level=Alert.Level.URGENT)
    assert "did not return the 2026 excess of $10.00 by 2026-09-06" in alert.text
    assert GiftLogEntry.objects.filter(action=GiftAction.CURE_FAILED, cure=cure).count() == 1
    # A second pass (or a second scheduler) changes nothing and alerts nobody again.
    assert gift_cures_overdue(at(dt.date(YEAR, 9, 8))) == 0
    assert Alert.objects.filter(level=Alert.Level.URGENT).count() == 1


def test_it_leaves_repaid_cures_alone(liaison, compliance, physicians, on_day):
    given(liaison, [physicians[0]], "545.00", on_day)
    cure_repay(cure=Cure.objects.get(), repaid_on=on_day, amount=Decimal("10"), user=compliance)
    assert gift_cures_overdue(at(dt.date(YEAR, 12, 1))) == 0
    assert Cure.objects.get().state == CureState.REPAID


def test_it_is_a_scheduler_job():
    assert [job.name for job in JOBS] == ["gift_cures_overdue"]
