import datetime as dt
import random

import pytest
from django.utils import timezone

from refloop.core.roles import Role
from refloop.outreach.demo import outreach_demo_load
from refloop.outreach.enums import ActivityKind, ActivityStatus, FollowUpKind
from refloop.outreach.models import Activity, ActivityAttendee, FollowUp
from tests import factories
from tests.outreach.helpers import material, standing

pytestmark = pytest.mark.django_db


def test_it_loads_a_quarter_next_week_an_event_and_the_drop_off_tasks(liaison):
    material()
    clinicians = [factories.referrer() for _ in range(8)]
    for n, clinician in enumerate(clinicians):
        standing(clinician=clinician, liaison=liaison, drop_off=n < 2)
    now = timezone.now()
    outreach_demo_load(users={Role.LIAISON: liaison}, now=now, rng=random.Random(3))

    past = Activity.objects.filter(starts_at__lt=now)
    assert past.filter(status=ActivityStatus.DONE).count() >= 30
    assert past.filter(status=ActivityStatus.PLANNED).count() == 0
    assert Activity.objects.filter(starts_at__gt=now, status=ActivityStatus.PLANNED).count() == 6
    lunch = Activity.objects.get(kind=ActivityKind.LUNCH_AND_LEARN)
    assert lunch.attendees.filter(attended=True).exists() and lunch.registrations.exists()
    assert FollowUp.objects.filter(kind=FollowUpKind.DROP_OFF).count() == 2
    assert FollowUp.objects.filter(kind=FollowUpKind.FOLLOW_UP).exists()
    assert ActivityAttendee.objects.filter(attended=True).count() >= 30
    # Every activity has the history the services would have written.
    assert not Activity.objects.filter(changes__isnull=True).exists()

    count = Activity.objects.count()
    outreach_demo_load(users={Role.LIAISON: liaison}, now=now, rng=random.Random(3))
    assert Activity.objects.count() == count  # loaded once


def test_it_makes_the_same_plan_from_the_same_seed(liaison):
    clinicians = [factories.referrer() for _ in range(5)]
    for clinician in clinicians:
        standing(clinician=clinician, liaison=liaison, drop_off=False)
    now = dt.datetime(2026, 11, 29, 15, tzinfo=dt.UTC)
    outreach_demo_load(users={Role.LIAISON: liaison}, now=now, rng=random.Random(9))
    first = list(Activity.objects.order_by("id").values_list("kind", "starts_at", "title"))
    Activity.objects.all().delete()
    outreach_demo_load(users={Role.LIAISON: liaison}, now=now, rng=random.Random(9))
    assert list(Activity.objects.order_by("id").values_list("kind", "starts_at", "title")) == first
