"""Two schedulers at once on PostgreSQL: every due referral is handled by exactly one of them,
and a scheduler that dies midway loses nothing (its leases run out and another takes over)."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from refloop.alerts.jobs import referrals_watch
from refloop.alerts.models import Alert
from refloop.core.scheduling import rows_claim
from refloop.referrals.models import Referral
from tests import factories

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]


def _referrals(line, clinician, intake, count):
    made = [
        factories.referral(
            line=line, clinician=clinician, actor=intake, received_at=factories.ago(days=3)
        )
        for _ in range(count)
    ]
    Referral.objects.filter(pk__in=[r.pk for r in made]).update(next_check_at=timezone.now())
    return made


def test_it_shares_the_due_referrals_between_two_schedulers(line, clinician, intake, monkeypatch):
    monkeypatch.setattr("refloop.alerts.jobs.BATCH", 7)  # many small claims, so they interleave
    made = _referrals(line, clinician, intake, 60)
    now = timezone.now()
    barrier = threading.Barrier(2)
    handled = [0, 0]

    def scheduler(index):
        try:
            barrier.wait(timeout=10)
            handled[index] = referrals_watch(now)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(handled) == len(made)  # nobody handled twice, nobody left out
    assert not Referral.objects.filter(check_lease_until__isnull=False).exists()
    keys = list(Alert.objects.values_list("key", "recipient_id"))
    assert keys and len(keys) == len(set(keys))


def test_it_loses_nothing_when_a_scheduler_dies_midway(line, clinician, intake):
    made = _referrals(line, clinician, intake, 5)
    now = timezone.now()
    # The first scheduler claims everything and is killed before it handles any of it.
    claimed = rows_claim(
        Referral.objects.filter(next_check_at__lte=now), now=now, lease_field="check_lease_until"
    )
    assert len(claimed) == len(made)
    assert referrals_watch(now) == 0  # leased: a second scheduler leaves them alone...
    later = now + dt.timedelta(minutes=3)
    assert referrals_watch(later) == len(made)  # ...until the lease has run out
    assert Alert.objects.filter(referral__in=made).exists()
