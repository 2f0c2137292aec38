"""The referrals_watch job on main: clock alerts at risk, breached and escalated, each once;
nothing for crossings older than the lookback; a changed referral is looked at again; stale."""

import datetime as dt

from django.utils import timezone

from refloop.alerts.jobs import referrals_watch
from refloop.alerts.models import Alert
from refloop.directory.enums import TargetKind
from refloop.referrals.enums import Milestone
from refloop.referrals.models import Referral
from refloop.referrals.services import milestone_record
from tests import factories
from tests.factories import ago

MINUTE = dt.timedelta(minutes=1)


def _ack_clock(referral):
    return referral.clocks.get(kind=TargetKind.ACKNOWLEDGE)


def _kinds(clock_kind=TargetKind.ACKNOWLEDGE):
    """(alert kind, recipient) of the alerts about one clock of the referral."""
    rows = Alert.objects.filter(key__contains=f":{clock_kind}:")
    return sorted(rows.values_list("kind", "recipient__username"))


def test_it_raises_at_risk_breached_and_escalated_each_once(line, intake, manager):
    referral = factories.referral(line=line, actor=intake)
    clock = _ack_clock(referral)
    escalate_at = clock.due_at + dt.timedelta(days=3)  # 8 business hours on, whatever the day

    for now in (clock.at_risk_at + MINUTE, clock.at_risk_at + 2 * MINUTE):
        referrals_watch(now)
    assert _kinds() == [("clock_at_risk", "intake"), ("clock_at_risk", "manager")]

    referrals_watch(clock.due_at + MINUTE)
    referrals_watch(escalate_at)
    referrals_watch(escalate_at + MINUTE)

    # The owners (who receive referrals) are told; managers (who assign) of the escalation.
    assert _kinds() == [
        ("clock_at_risk", "intake"),
        ("clock_at_risk", "manager"),
        ("clock_breached", "intake"),
        ("clock_breached", "manager"),
        ("clock_escalated", "intake"),
        ("clock_escalated", "manager"),
    ]
    text = Alert.objects.filter(kind="clock_breached", key__contains=":acknowledge:").first().text
    assert text.startswith(f"{referral.number}: Acknowledge")
    assert "Testpatient" not in text


def test_it_looks_again_only_when_something_can_fall_due(line, intake):
    referral = factories.referral(line=line, actor=intake)
    clock = _ack_clock(referral)

    assert referrals_watch(clock.at_risk_at + MINUTE) == 1
    assert referrals_watch(clock.at_risk_at + 2 * MINUTE) == 0
    referral.refresh_from_db()
    assert referral.next_check_at == clock.due_at


def test_it_looks_again_at_a_changed_referral(line, intake):
    referral = factories.referral(line=line, actor=intake)
    clock = _ack_clock(referral)
    referrals_watch(clock.at_risk_at + MINUTE)

    milestone_record(referral_id=referral.pk, milestone=Milestone.ACKNOWLEDGED, actor=intake)
    assert referrals_watch(timezone.now()) == 1
    referrals_watch(clock.due_at + MINUTE)

    assert not Alert.objects.filter(kind="clock_breached").exists()


def test_it_does_not_alert_crossings_older_than_the_lookback(line, intake):
    referral = factories.referral(line=line, actor=intake)
    clock = _ack_clock(referral)

    referrals_watch(clock.due_at + dt.timedelta(days=12))

    assert not Alert.objects.filter(kind__startswith="clock_").exists()


def test_it_calls_a_referral_stale_once(line, intake):
    referral = factories.referral(line=line, actor=intake, received_at=ago(days=15))
    Referral.objects.filter(pk=referral.pk).update(next_check_at=timezone.now())

    referrals_watch(timezone.now())
    Referral.objects.filter(pk=referral.pk).update(next_check_at=timezone.now())
    referrals_watch(timezone.now())

    stale = Alert.objects.filter(kind="stale")
    assert stale.count() == 1  # one person holds receive_referral: intake
    assert stale.get().text == f"{referral.number} has been received for 14 days."
    assert not Alert.objects.filter(kind__startswith="clock_").exists()


def test_it_escalates_a_stat_breach_around_the_clock(line, intake, manager):
    from refloop.directory.enums import Priority

    referral = factories.referral(line=line, actor=intake, priority=Priority.STAT)
    clock = _ack_clock(referral)
    assert clock.around_the_clock
    hours = line.escalate_after_hours
    referrals_watch(clock.due_at + MINUTE)
    # Not a business day later: `hours` elapsed hours after the breach, nights and weekends too.
    referrals_watch(clock.due_at + dt.timedelta(hours=hours) - MINUTE)
    assert ("clock_escalated", "manager") not in _kinds()
    referrals_watch(clock.due_at + dt.timedelta(hours=hours) + MINUTE)
    assert ("clock_escalated", "manager") in _kinds()
