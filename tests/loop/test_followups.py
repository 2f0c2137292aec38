"""Follow-ups after the visit: made when the referral completes, alerted when overdue."""

import datetime as dt

from refloop.alerts.models import Alert
from refloop.loop.jobs import followups_watch
from refloop.loop.models import FollowUpItem, FollowUpTemplateItem
from refloop.loop.services import followup_set
from tests.loop.conftest import run_updates, to_completed


def _template(line):
    FollowUpTemplateItem.objects.create(
        service_line=line, name="Imaging reviewed", due_after_days=3
    )
    FollowUpTemplateItem.objects.create(
        service_line=line, name="Letter to the patient", due_after_days=5, position=1
    )


def test_it_makes_the_follow_ups_when_the_visit_is_recorded(referral, line, manager):
    _template(line)
    seen = to_completed(referral, manager)

    run_updates()
    run_updates(seconds=1)

    items = list(FollowUpItem.objects.filter(referral=seen))
    assert [i.name for i in items] == ["Imaging reviewed", "Letter to the patient"]
    assert seen.completed_at < items[0].due_at < items[1].due_at
    # Three business days never end on a weekend.
    assert items[0].due_at.weekday() < 5


def test_it_alerts_the_owner_once_when_a_follow_up_is_overdue(referral, line, manager, care_team):
    _template(line)
    seen = to_completed(referral, manager)
    run_updates()
    first = FollowUpItem.objects.filter(referral=seen).first()

    late = first.due_at + dt.timedelta(minutes=1)
    assert followups_watch(late) == 1
    assert followups_watch(late + dt.timedelta(hours=1)) == 0

    alerts = Alert.objects.filter(kind="followup_overdue")
    # A completed referral is the care team's (close_referral) until the report is sent.
    assert {a.recipient for a in alerts} == {care_team, manager}
    assert "Imaging reviewed" in alerts[0].text


def test_it_does_not_alert_a_follow_up_done_in_time(referral, line, manager, care_team):
    _template(line)
    seen = to_completed(referral, manager)
    run_updates()
    for item in FollowUpItem.objects.filter(referral=seen):
        followup_set(item_id=item.pk, referral_id=seen.pk, done=True, actor=care_team)

    assert followups_watch(FollowUpItem.objects.last().due_at + dt.timedelta(days=1)) == 0
    assert not Alert.objects.filter(kind="followup_overdue").exists()
