"""Two people inviting a target list to one event at the same moment (a double click) on
PostgreSQL: each address is invited once and neither request fails."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from refloop.outreach.enums import ActivityKind
from refloop.outreach.models import Invitation
from refloop.outreach.services import ActivityDraft, activity_plan, events
from refloop.relations.models import TargetList
from tests import factories
from tests.outreach.helpers import standing

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]


def test_it_invites_each_address_once_when_two_invite_at_once(liaison, manager, monkeypatch):
    dana, sam = factories.referrer(), factories.referrer()
    dana.email, sam.email = "dana@maple.test", "sam@oak.test"
    dana.save(), sam.save()
    for clinician in (dana, sam):
        standing(clinician=clinician, liaison=liaison, drop_off=False)
    target_list = TargetList.objects.create(name="Knee", owner=liaison, shared=True, criteria={})
    event = activity_plan(
        liaison=liaison,
        draft=ActivityDraft(
            kind=ActivityKind.LUNCH_AND_LEARN,
            title="Knee pain",
            starts_at=timezone.now() + dt.timedelta(days=10),
            place="Maple, conference room",
        ),
        by=liaison,
    )
    real = events.target_list_audience

    def slow_audience(**kwargs):
        found = real(**kwargs)
        time.sleep(0.4)
        return found

    monkeypatch.setattr(events, "target_list_audience", slow_audience)
    barrier = threading.Barrier(2)
    errors = []

    def invite(user):
        try:
            barrier.wait(timeout=10)
            events.event_invite(activity=event, target_list=target_list, by=user)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=invite, args=(user,)) for user in (liaison, manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "dana@maple.test",
        "sam@oak.test",
    ]
