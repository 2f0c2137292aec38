"""The scheduler's building blocks: leases on due rows, once-a-period jobs, the command."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.core.models import JobRun
from refloop.core.scheduling import period_claim, period_finish, rows_claim
from refloop.referrals.models import Referral
from tests import factories

pytestmark = pytest.mark.django_db


def _due(now):
    return Referral.objects.filter(next_check_at__lte=now).order_by("pk")


def test_it_claims_due_rows_once_until_the_lease_runs_out(line, clinician, intake):
    referrals = [factories.referral(line=line, clinician=clinician, actor=intake) for _ in range(3)]
    now = timezone.now()
    first = rows_claim(_due(now), now=now, lease_field="check_lease_until")
    assert sorted(first) == sorted(r.pk for r in referrals)
    # A second scheduler at the same moment finds nothing free.
    assert rows_claim(_due(now), now=now, lease_field="check_lease_until") == []
    # The first one died: when its lease has run out, the rows are taken again.
    later = now + dt.timedelta(minutes=5)
    assert sorted(rows_claim(_due(later), now=later, lease_field="check_lease_until")) == sorted(
        first
    )


def test_it_claims_no_more_than_the_limit(line, clinician, intake):
    for _ in range(4):
        factories.referral(line=line, clinician=clinician, actor=intake)
    now = timezone.now()
    assert len(rows_claim(_due(now), now=now, limit=3, lease_field="check_lease_until")) == 3
    assert len(rows_claim(_due(now), now=now, limit=3, lease_field="check_lease_until")) == 1


def test_it_lets_one_scheduler_take_a_period():
    now = timezone.now()
    assert period_claim(job="tna", period="2026-12-01", now=now)
    assert not period_claim(job="tna", period="2026-12-01", now=now)
    assert period_claim(job="tna", period="2026-12-02", now=now)


def test_it_retakes_a_period_whose_scheduler_died_but_not_a_finished_one():
    now = timezone.now()
    assert period_claim(job="tna", period="d1", now=now)
    assert period_claim(job="tna", period="d2", now=now)
    period_finish(job="tna", period="d2")
    later = now + dt.timedelta(minutes=45)  # past the period lease
    assert period_claim(job="tna", period="d1", now=later)
    assert not period_claim(job="tna", period="d2", now=later)
    assert JobRun.objects.filter(job="tna").count() == 2


def test_it_runs_every_job_once_with_the_command(line, clinician, intake, capsys):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    call_command("refloop_scheduler", "--once")
    out = capsys.readouterr().out
    assert "referrals_watch: 1" in out
    referral.refresh_from_db()
    # Looked at, and told when to look again (its acknowledgement clock goes at risk later).
    assert referral.check_lease_until is None
    assert referral.next_check_at > timezone.now()
    call_command("refloop_scheduler", "--once")
    assert "referrals_watch: 0" in capsys.readouterr().out


def test_it_raises_each_alert_once_however_often_it_runs(line, clinician, intake):
    referral = factories.referral(
        line=line, clinician=clinician, actor=intake, received_at=factories.ago(days=3)
    )
    Referral.objects.filter(pk=referral.pk).update(next_check_at=timezone.now())
    call_command("refloop_scheduler", "--once")
    raised = Alert.objects.filter(referral=referral).count()
    assert raised > 0
    Referral.objects.filter(pk=referral.pk).update(next_check_at=timezone.now())
    call_command("refloop_scheduler", "--once")
    assert Alert.objects.filter(referral=referral).count() == raised
