import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from refloop.outreach.enums import ActivityKind, ActivityStatus
from refloop.outreach.jobs import drop_off_tasks
from refloop.outreach.models import Activity, FollowUp, Registration
from refloop.outreach.queries import week_monday
from refloop.outreach.services import ActivityDraft, LogEntry, activity_log, activity_plan
from refloop.relations.models import PracticeAssignment, Territory
from tests import factories
from tests.factories import ago
from tests.outreach.helpers import material, standing
from tests.web.dashboard_helpers import facts_current
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def patch(liaison):
    """A liaison's territory with two practices and their clinicians."""
    territory = Territory.objects.create(name="North", liaison=liaison)
    clinicians = [factories.referrer() for _ in range(3)]
    for clinician in clinicians:
        PracticeAssignment.objects.create(
            organization=clinician.organizations.first(), territory=territory
        )
    return clinicians


def _recently() -> dt.datetime:
    """A moment ago, but never before this local week's Monday: the week page shows the week of
    today, and a test run just after midnight on a Monday must still find the activity in it."""
    monday = week_monday(timezone.localdate())
    week_start = dt.datetime.combine(monday, dt.time.min, timezone.get_current_timezone())
    return max(timezone.now() - dt.timedelta(hours=2), week_start)


def _plan(liaison, clinicians, **changes):
    fields = {
        "kind": ActivityKind.OFFICE_VISIT,
        "title": f"Visit {clinicians[0].organizations.first().name}",
        "starts_at": _recently(),
        "organization": clinicians[0].organizations.first(),
        "clinicians": clinicians,
    }
    fields.update(changes)
    return activity_plan(liaison=liaison, draft=ActivityDraft(**fields), by=liaison)


def test_it_shows_a_liaisons_week_in_a_few_queries(
    client, liaison, patch, django_assert_max_num_queries
):
    for n in range(4):
        _plan(liaison, patch, starts_at=_recently() + dt.timedelta(seconds=n + 1))
    done = _plan(liaison, patch[:1])
    activity_log(activity=done, entry=LogEntry(attended=patch[:1]), by=liaison)
    for clinician in patch:
        standing(clinician=clinician, liaison=liaison)
    drop_off_tasks(timezone.now())
    sign_in(client, liaison)
    with django_assert_max_num_queries(17):
        response = client.get(reverse("outreach_week"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("Referring less") == 3
    assert "0 referrals lately where about 6.2 were expected" in page
    assert 'aria-label="Referrals a month: Sep 5, Oct 1, Nov 0"' in page
    assert page.count("Log what happened") == 4
    assert 'href="/outreach/"' in page  # the nav line


def test_it_logs_a_visit_from_the_quick_form(client, liaison, patch):
    sign_in(client, liaison)
    organization = patch[0].organizations.first()
    response = client.post(
        reverse("outreach_visit_log"),
        {
            "organization": organization.pk,
            "clinicians": [patch[0].pk],
            "day": timezone.localdate().isoformat(),
            "topics": "Knee pathway",
            "follow_up": "Send the knee sheet",
            "follow_up_due": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert (activity.status, activity.organization) == (ActivityStatus.DONE, organization)
    assert activity.follow_ups.get().text == "Send the knee sheet"


def test_it_keeps_a_bad_quick_form_with_its_errors(client, liaison, patch):
    sign_in(client, liaison)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = client.post(
        reverse("outreach_visit_log"),
        {
            "organization": patch[0].organizations.first().pk,
            "day": tomorrow.isoformat(),
            "follow_up": "Call back",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "cannot be in the future" in page and "Give the follow-up a due date." in page
    assert Activity.objects.count() == 0


def test_it_plans_edits_logs_and_cancels_through_the_pages(client, liaison, patch):
    sign_in(client, liaison)
    sheet = material()
    today = timezone.localdate()
    response = client.post(
        reverse("outreach_activity_new"),
        {
            "kind": ActivityKind.OFFICE_VISIT,
            "title": "Visit Maple",
            "day": today.isoformat(),
            "time": "08:00",
            "organization": patch[0].organizations.first().pk,
            "clinicians": [patch[0].pk],
            "materials": [sheet.pk],
            "cost": "12.00",
        },
    )
    activity = Activity.objects.get()
    assert response.status_code == 302
    assert list(activity.materials.all()) == [sheet]
    page = client.get(reverse("outreach_activity", args=[activity.pk])).content.decode()
    assert "Knee pathway sheet v1" in page
    edit = client.get(reverse("outreach_activity_edit", args=[activity.pk]))
    assert edit.status_code == 200 and 'value="Visit Maple"' in edit.content.decode()
    response = client.post(
        reverse("outreach_activity_log", args=[activity.pk]),
        {"attended": [patch[0].pk], "cost": "30.00", "notes": "Good talk"},
    )
    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.status, str(activity.cost)) == ("done", "30.00")
    cancelled = client.post(
        reverse("outreach_activity_cancel", args=[activity.pk]), {"reason": "late"}, follow=True
    )
    assert "cannot be marked cancelled" in cancelled.content.decode()


def test_it_refuses_an_expired_material_with_its_name(client, liaison, patch):
    sign_in(client, liaison)
    old = material(title="Old flyer", expires_on=timezone.localdate() - dt.timedelta(days=1))
    response = client.post(
        reverse("outreach_activity_new"),
        {
            "kind": ActivityKind.OFFICE_VISIT,
            "title": "Visit",
            "day": timezone.localdate().isoformat(),
            "time": "09:00",
            "materials": [old.pk],
            "cost": "0",
        },
    )
    assert response.status_code == 400
    assert "Not approved for use on" in response.content.decode()
    assert "Old flyer v1" in response.content.decode()


def test_it_keeps_other_roles_and_other_liaisons_out(client, liaison, compliance, patch):
    activity = _plan(liaison, patch)
    sign_in(client, compliance)
    assert client.get(reverse("outreach_week")).status_code == 403
    sign_in(client, factories.person("liaison"))
    assert client.get(reverse("outreach_activity", args=[activity.pk])).status_code == 403


def test_it_marks_a_task_done_from_the_week(client, liaison, patch):
    standing(clinician=patch[0], liaison=liaison)
    drop_off_tasks(timezone.now())
    task = FollowUp.objects.get()
    sign_in(client, liaison)
    response = client.post(reverse("outreach_follow_up_done", args=[task.pk]))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None


def test_it_shows_no_patient_on_a_liaisons_pages(client, liaison, patch, line):
    factories.referral(line=line, clinician=patch[0], received_at=ago(days=40), last_name="Quill")
    facts_current()
    activity = _plan(liaison, patch, kind=ActivityKind.LUNCH_AND_LEARN, place="Room 2")
    activity_log(activity=activity, entry=LogEntry(attended=patch), by=liaison)
    standing(clinician=patch[0], liaison=liaison)
    drop_off_tasks(timezone.now())
    sign_in(client, liaison)
    for url in (
        reverse("outreach_week"),
        reverse("outreach_activity", args=[activity.pk]),
        reverse("outreach_activity_edit", args=[activity.pk]),
        reverse("outreach_effect"),
        reverse("outreach_activity_new"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Quill" not in response.content.decode(), url


def test_it_shows_the_effect_worded_as_association(client, liaison, manager, patch):
    sign_in(client, liaison)
    response = client.get(reverse("outreach_effect"), {"months": "2", "mine": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "an association, never proof of cause" in page
    assert "Not enough data to compare." in page
    sign_in(client, manager)
    assert client.get(reverse("outreach_effect")).status_code == 200


def test_it_registers_by_the_public_links_without_login(client, liaison, patch):
    event = _plan(
        liaison,
        patch,
        kind=ActivityKind.WEBINAR,
        title="Shoulder webinar",
        join_link="https://meet.test/shoulder",
        starts_at=timezone.now() + dt.timedelta(days=3),
        capacity=1,
    )
    url = reverse("event_register", args=[event.registration_token])
    page = client.get(url).content.decode()
    assert "Shoulder webinar" in page and "meet.test" not in page
    response = client.post(url, {"name": "Pat Lee", "email": "Pat@Maple.test"})
    assert response.status_code == 200
    assert "https://meet.test/shoulder" in response.content.decode()
    assert Registration.objects.get().email == "pat@maple.test"
    full = client.post(url, {"name": "Sam", "email": "sam@oak.test"})
    assert full.status_code == 410 and "full" in full.content.decode()
    assert client.get(reverse("event_register", args=["nope"])).status_code == 404
    bad = client.post(url, {"name": "", "email": "not-an-address"})
    assert bad.status_code == 400
    assert mail.outbox == []


def test_it_lets_a_manager_look_at_a_liaisons_week(client, liaison, manager, patch):
    _plan(liaison, patch, title="Visit for the manager to see")
    sign_in(client, manager)
    page = client.get(reverse("outreach_week"), {"liaison": liaison.pk}).content.decode()
    assert "Visit for the manager to see" in page
    assert "Log a visit" not in page  # the quick form is the liaison's own
    assert f'href="?liaison={liaison.pk}"' in page
    # A liaison asking for someone else's week gets their own.
    sign_in(client, factories.person("liaison"))
    page = client.get(reverse("outreach_week"), {"liaison": liaison.pk}).content.decode()
    assert "Visit for the manager to see" not in page


def test_it_lists_a_referrers_touches_for_their_profile(liaison, patch):
    from refloop.outreach.queries import referrer_activities

    named = _plan(liaison, patch[:1], title="Named")
    _plan(liaison, patch[1:2], title="Someone else")
    practice_wide = activity_plan(
        liaison=liaison,
        draft=ActivityDraft(
            kind=ActivityKind.CALL,
            title="Practice call",
            starts_at=timezone.now(),
            organization=patch[0].organizations.first(),
        ),
        by=liaison,
    )
    assert referrer_activities(clinician=patch[0]) == [practice_wide, named]


def test_it_offers_to_log_only_what_has_happened(client, liaison, patch):
    ahead = _plan(liaison, patch, starts_at=timezone.now() + dt.timedelta(days=2))
    past = _plan(liaison, patch)
    sign_in(client, liaison)
    log = "Log what happened"
    assert log not in client.get(reverse("outreach_activity", args=[ahead.pk])).content.decode()
    assert log in client.get(reverse("outreach_activity", args=[past.pk])).content.decode()


def test_it_shows_an_event_page_in_a_few_queries(
    client, liaison, patch, django_assert_max_num_queries
):
    from refloop.outreach.services.events import registration_add

    event = _plan(
        liaison,
        patch,
        kind=ActivityKind.COMMUNITY_EVENT,
        place="Library hall",
        starts_at=timezone.now() + dt.timedelta(days=3),
    )
    for n in range(8):
        registration_add(activity=event, name=f"Guest {n}", email=f"guest{n}@maple.test")
    sign_in(client, liaison)
    with django_assert_max_num_queries(21):
        response = client.get(reverse("outreach_activity", args=[event.pk]))
    assert response.content.decode().count("@maple.test") == 8


def test_it_plans_a_visit_from_a_drop_off_task(client, liaison, patch):
    standing(clinician=patch[0], liaison=liaison)
    drop_off_tasks(timezone.now())
    sign_in(client, liaison)
    week = client.get(reverse("outreach_week")).content.decode()
    organization = patch[0].organizations.first()
    link = f"/outreach/activities/new/?organization={organization.pk}&amp;clinician={patch[0].pk}"
    assert link in week
    form = client.get(link.replace("&amp;", "&")).content.decode()
    assert f'<option value="{patch[0].pk}" selected>' in form
    assert f'<option value="{organization.pk}" selected>' in form


def test_it_shows_nothing_by_the_link_of_an_event_turned_into_a_visit(client, liaison, patch):
    """The old registration link must not show a liaison's office visit to anyone holding it."""
    from refloop.campaigns.models import Suppression
    from refloop.outreach.services import activity_edit

    event = _plan(
        liaison,
        patch,
        kind=ActivityKind.LUNCH_AND_LEARN,
        title="Knee lunch",
        place="Maple, conference room",
        starts_at=timezone.now() + dt.timedelta(days=3),
    )
    url = reverse("event_register", args=[event.registration_token])
    assert client.get(url).status_code == 200
    visit = ActivityDraft(
        kind=ActivityKind.OFFICE_VISIT,
        title="Visit Dr Lee about her declining referrals",
        starts_at=event.starts_at,
        organization=event.organization,
    )
    invitation = event.invitations.create(email="pat@maple.test", token="tok-pat")
    activity_edit(activity=event, draft=visit, by=liaison)
    response = client.get(url)
    assert response.status_code == 404
    assert "declining" not in response.content.decode()
    assert client.get(reverse("event_invitation", args=[invitation.token])).status_code == 404
    # Its invitation's unsubscribe link still works (CAN-SPAM).
    client.post(reverse("event_unsubscribe", args=[invitation.token]))
    assert Suppression.objects.filter(email="pat@maple.test").exists()
