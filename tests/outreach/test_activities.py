import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from refloop.content.enums import ContentState
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.outreach.enums import ActivityKind, ActivityStatus
from refloop.outreach.services import (
    ActivityDraft,
    FollowUpDraft,
    LogEntry,
    activity_cancel,
    activity_edit,
    activity_log,
    activity_plan,
    activity_record,
)
from tests import factories
from tests.outreach.helpers import material

pytestmark = pytest.mark.django_db


def _draft(clinicians=(), **changes):
    fields = {
        "kind": ActivityKind.OFFICE_VISIT,
        "title": "Visit Maple Family Practice",
        "starts_at": timezone.now() - dt.timedelta(hours=1),
        "clinicians": clinicians,
        "office_staff": "Pat Lee, referral coordinator",
        "topics": "Knee pathway",
        "cost": Decimal("42.50"),
    }
    fields.update(changes)
    return ActivityDraft(**fields)


def test_it_plans_logs_and_records_each_step(liaison):
    dana, sam = factories.referrer(), factories.referrer()
    sheet = material()
    activity = activity_plan(
        liaison=liaison, draft=_draft([dana, sam], materials=[sheet]), by=liaison
    )
    assert activity.status == ActivityStatus.PLANNED
    assert set(activity.attendees.values_list("clinician", "attended")) == {
        (dana.pk, False),
        (sam.pk, False),
    }

    due = timezone.localdate() + dt.timedelta(days=14)
    activity_log(
        activity=activity,
        entry=LogEntry(
            attended=[dana],
            notes="Asked about wait times",
            follow_ups=[FollowUpDraft(due_on=due, text="Send the knee sheet")],
        ),
        by=liaison,
    )
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.DONE
    assert activity.notes == "Asked about wait times"
    assert set(activity.attendees.values_list("clinician", "attended")) == {
        (dana.pk, True),
        (sam.pk, False),  # invited, did not come
    }
    assert list(activity.materials.all()) == [sheet]
    [follow_up] = activity.follow_ups.all()
    assert (follow_up.owner, follow_up.due_on) == (liaison, due)
    assert list(activity.changes.values_list("from_status", "to_status")) == [
        ("", "planned"),
        ("planned", "done"),
    ]


def test_it_refuses_materials_not_usable_on_the_activity_day(liaison):
    draft_version = material(title="Draft flyer", state=ContentState.DRAFT)
    expired = material(title="Old sheet", expires_on=timezone.localdate() - dt.timedelta(days=30))
    for version in (draft_version, expired):
        with pytest.raises(DomainError, match="Not approved"):
            activity_plan(liaison=liaison, draft=_draft(materials=[version]), by=liaison)
    # Usable on the day it was used, though expired since: fine for a visit in the past.
    expires = timezone.localdate() - dt.timedelta(days=3)
    old = material(title="Sheet of last week", expires_on=expires)
    when = timezone.now() - dt.timedelta(days=5)
    assert activity_plan(
        liaison=liaison, draft=_draft(materials=[old], starts_at=when), by=liaison
    ).pk


def test_it_cancels_only_a_planned_activity_with_a_reason(liaison):
    activity = activity_plan(liaison=liaison, draft=_draft(), by=liaison)
    with pytest.raises(DomainError, match="why"):
        activity_cancel(activity=activity, reason=" ", by=liaison)
    activity_cancel(activity=activity, reason="Office closed", by=liaison)
    assert activity.status == ActivityStatus.CANCELLED
    with pytest.raises(Conflict):
        activity_log(activity=activity, entry=LogEntry(), by=liaison)
    with pytest.raises(DomainError):
        activity_edit(activity=activity, draft=_draft(), by=liaison)


def test_it_lets_the_first_of_two_people_win(liaison, manager):
    activity = activity_plan(liaison=liaison, draft=_draft(), by=liaison)
    stale = type(activity).objects.get(pk=activity.pk)
    activity_log(activity=activity, entry=LogEntry(), by=liaison)
    with pytest.raises(Conflict):
        activity_cancel(activity=stale, reason="duplicate", by=manager)


def test_it_lets_only_the_liaison_or_a_manager_change_it(liaison, manager):
    activity = activity_plan(liaison=liaison, draft=_draft(), by=liaison)
    other = factories.person("liaison")
    with pytest.raises(NotAllowed):
        activity_cancel(activity=activity, reason="mine now", by=other)
    activity_cancel(activity=activity, reason="Liaison off sick", by=manager)


def test_it_does_not_log_what_has_not_happened(liaison):
    ahead = _draft(starts_at=timezone.now() + dt.timedelta(days=2))
    activity = activity_plan(liaison=liaison, draft=ahead, by=liaison)
    with pytest.raises(DomainError, match="still ahead"):
        activity_log(activity=activity, entry=LogEntry(), by=liaison)
    with pytest.raises(DomainError, match="plan it instead"):
        activity_record(liaison=liaison, draft=ahead, by=liaison)


def test_it_needs_a_place_or_link_for_an_event(liaison):
    event = _draft(kind=ActivityKind.LUNCH_AND_LEARN, place="")
    with pytest.raises(DomainError, match="place or a join link"):
        activity_plan(liaison=liaison, draft=event, by=liaison)
    planned = activity_plan(
        liaison=liaison,
        draft=_draft(kind=ActivityKind.WEBINAR, join_link="https://x.test/j"),
        by=liaison,
    )
    assert planned.registration_token


def test_it_records_a_visit_at_once(liaison):
    dana = factories.referrer()
    activity = activity_record(liaison=liaison, draft=_draft([dana]), by=liaison)
    assert activity.status == ActivityStatus.DONE
    assert list(activity.attendees.values_list("attended", flat=True)) == [True]
    assert activity.changes.count() == 2


def test_it_counts_as_touches_only_those_who_attended_a_held_activity(liaison):
    from refloop.outreach.queries import activity_touches

    dana, sam, lee = factories.referrer(), factories.referrer(), factories.referrer()
    held = activity_plan(liaison=liaison, draft=_draft([dana, sam]), by=liaison)
    activity_log(activity=held, entry=LogEntry(attended=[dana]), by=liaison)
    activity_plan(liaison=liaison, draft=_draft([lee]), by=liaison)  # still planned
    assert activity_touches() == {dana.npi: [timezone.localdate(held.starts_at)]}
    other = factories.person("liaison")
    assert activity_touches(liaison=other) == {}


def test_it_never_puts_back_a_status_changed_while_the_edit_page_was_open(liaison, manager):
    """The liaison's edit form holds the activity as it was; a manager cancels it meanwhile."""
    activity = activity_plan(liaison=liaison, draft=_draft(), by=liaison)
    on_the_page = type(activity).objects.get(pk=activity.pk)
    activity_cancel(activity=activity, reason="Office closed", by=manager)
    with pytest.raises(DomainError, match="cancelled"):
        activity_edit(activity=on_the_page, draft=_draft(title="Renamed"), by=liaison)
    activity.refresh_from_db()
    assert (activity.status, activity.title, activity.cancel_reason) == (
        ActivityStatus.CANCELLED,
        "Visit Maple Family Practice",
        "Office closed",
    )


def test_it_refuses_to_log_a_planned_material_retired_since_the_plan(liaison):
    sheet = material()
    activity = activity_plan(liaison=liaison, draft=_draft(materials=[sheet]), by=liaison)
    type(sheet).objects.filter(pk=sheet.pk).update(state=ContentState.RETIRED)
    with pytest.raises(DomainError, match="Not approved for use"):
        activity_log(activity=activity, entry=LogEntry(), by=liaison)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PLANNED
    # Taken off the activity, the visit is logged.
    activity_edit(activity=activity, draft=_draft(materials=[]), by=liaison)
    activity_log(activity=activity, entry=LogEntry(), by=liaison)
    assert activity.status == ActivityStatus.DONE


def test_it_edits_a_logged_visit_whose_material_was_superseded_since(liaison):
    sheet = material()
    activity = activity_record(liaison=liaison, draft=_draft(materials=[sheet]), by=liaison)
    type(sheet).objects.filter(pk=sheet.pk).update(state=ContentState.RETIRED)
    sheet.refresh_from_db()
    edited = _draft(materials=[sheet], notes="Asked for the new sheet")
    activity_edit(activity=activity, draft=edited, by=liaison)
    activity.refresh_from_db()
    assert activity.notes == "Asked for the new sheet"
    assert list(activity.materials.all()) == [sheet]
    # A retired version cannot be added to a visit that did not use it.
    other = activity_record(liaison=liaison, draft=_draft(), by=liaison)
    with pytest.raises(DomainError, match="Not approved for use"):
        activity_edit(activity=other, draft=_draft(materials=[sheet]), by=liaison)
