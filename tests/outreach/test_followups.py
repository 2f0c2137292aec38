import datetime as dt

import pytest
from django.utils import timezone

from refloop.core.errors import Conflict, NotAllowed
from refloop.outreach.enums import FollowUpKind
from refloop.outreach.jobs import JOBS, drop_off_tasks
from refloop.outreach.models import FollowUp
from refloop.outreach.services import FollowUpDraft, followup_add, followup_done
from tests import factories
from tests.outreach.helpers import standing

pytestmark = pytest.mark.django_db


def test_it_turns_each_drop_off_into_one_task_for_the_liaison(liaison):
    fading = factories.referrer()
    steady = factories.referrer()
    standing(clinician=fading, liaison=liaison, recent=0, expected=6.2)
    standing(clinician=steady, liaison=liaison, drop_off=False)
    now = timezone.now()

    assert drop_off_tasks(now) == 1
    task = FollowUp.objects.get()
    assert task.owner == liaison
    assert task.kind == FollowUpKind.DROP_OFF
    assert task.clinician == fading
    assert task.referrer_key == fading.npi
    assert task.figures["monthly"] == [["2026-09-01", 5], ["2026-10-01", 1], ["2026-11-01", 0]]
    assert task.figures["drop_off"]["expected"] == 6.2
    assert "0 referrals lately where about 6.2 were expected" in task.text
    assert task.due_on == timezone.localdate(now) + dt.timedelta(days=7)


def test_it_writes_a_drop_off_task_once_per_month_however_often_it_runs(liaison):
    standing(clinician=factories.referrer(), liaison=liaison)
    now = timezone.now()
    assert drop_off_tasks(now) == 1
    assert drop_off_tasks(now) == 0
    assert drop_off_tasks(now + dt.timedelta(hours=1)) == 0
    assert FollowUp.objects.count() == 1
    # Still fading next month: a new task.
    assert drop_off_tasks(now + dt.timedelta(days=32)) == 1


def test_it_leaves_a_referrer_without_liaison_waiting(liaison):
    standing(clinician=factories.referrer(), liaison=None)
    assert drop_off_tasks(timezone.now()) == 0


def test_it_is_a_scheduled_job():
    assert "outreach_drop_off_tasks" in [job.name for job in JOBS]


def test_it_closes_a_task_once_and_only_for_its_owner(liaison, compliance):
    task = followup_add(
        owner=liaison,
        draft=FollowUpDraft(due_on=timezone.localdate(), text="Send the knee sheet"),
        by=liaison,
    )
    with pytest.raises(NotAllowed):
        followup_done(follow_up=task, by=compliance)
    followup_done(follow_up=task, by=liaison)
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == liaison
    with pytest.raises(Conflict):
        followup_done(follow_up=task, by=liaison)


def test_it_lets_a_manager_but_not_another_liaison_assign_a_task(liaison, manager):
    other = factories.person("liaison")
    draft = FollowUpDraft(due_on=timezone.localdate(), text="Visit Maple")
    with pytest.raises(NotAllowed):
        followup_add(owner=liaison, draft=draft, by=other)
    assert followup_add(owner=liaison, draft=draft, by=manager).owner == liaison


def test_it_says_since_when_the_referrer_sent_less(liaison):
    fading = standing(clinician=factories.referrer(), liaison=liaison, recent=1, expected=7.46)
    fading.drop_off_detail["recent_from"] = "2026-10-01"
    fading.save()
    drop_off_tasks(timezone.now())
    assert "1 referrals since Oct 1 where about 7.5 were expected" in FollowUp.objects.get().text
