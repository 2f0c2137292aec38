"""The worklist: open referrals, most urgent first, filters, counts, queues, reassignment."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refloop.core.models import AccessLogEntry
from refloop.directory.enums import Priority
from refloop.referrals.enums import BlockerKind, CancelReason, Channel, State
from refloop.referrals.models import Referral
from refloop.referrals.services import referral_assign, referral_transition
from tests import factories
from tests.web.helpers import sign_in


def _numbers(response) -> list[str]:
    return re.findall(r">(R-\d{7})</a>", response.content.decode())


def _set_times(referral, *, due, at_risk):
    # Clock times are the services' business; here we only need rows at known points in time.
    Referral.objects.filter(pk=referral.pk).update(next_due_at=due, next_at_risk_at=at_risk)


def test_it_lists_open_referrals_most_urgent_first(client, line, clinician, intake):
    later = factories.referral(line=line, clinician=clinician, actor=intake)
    sooner = factories.referral(line=line, clinician=clinician, actor=intake)
    no_clock = factories.referral(line=line, clinician=clinician, actor=intake)
    ended = factories.referral(line=line, clinician=clinician, actor=intake)
    now = timezone.now()
    _set_times(later, due=now + dt.timedelta(hours=5), at_risk=now + dt.timedelta(hours=4))
    _set_times(sooner, due=now + dt.timedelta(hours=1), at_risk=now)
    _set_times(no_clock, due=None, at_risk=None)
    referral_transition(
        referral_id=ended.pk,
        to_state=State.CANCELLED,
        reason=CancelReason.ENTERED_IN_ERROR,
        actor=intake,
    )
    sign_in(client, intake)

    response = client.get(reverse("worklist"))

    assert _numbers(response) == [sooner.number, later.number, no_clock.number]
    assert f"{sooner.patient.last_name}, Alex" in response.content.decode()


def test_it_filters_by_state_and_counts_each_state(client, line, clinician, intake):
    in_triage = factories.referral(line=line, clinician=clinician, actor=intake)
    received = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=in_triage.pk, to_state=State.TRIAGE, actor=intake)
    sign_in(client, intake)

    response = client.get(reverse("worklist"), {"state": State.TRIAGE})

    assert _numbers(response) == [in_triage.number]
    assert response.context["page"].counts[State.RECEIVED] == 1
    assert response.context["page"].counts[State.TRIAGE] == 1
    assert received.number not in response.content.decode()


def test_it_filters_by_line_priority_practice_and_blocker(client, line, intake):
    cardiology = factories.service_line(code="cardiology", name="Cardiology")
    practice_a, practice_b = factories.referrer(), factories.referrer()
    urgent_cardio = factories.referral(
        line=cardiology, clinician=practice_a, actor=intake, priority=Priority.URGENT
    )
    routine_ortho = factories.referral(line=line, clinician=practice_b, actor=intake)
    unknown_referrer = factories.referral(line=line, actor=intake, known_referrer=False)
    sign_in(client, intake)
    url = reverse("worklist")

    assert _numbers(client.get(url, {"line": cardiology.pk})) == [urgent_cardio.number]
    assert _numbers(client.get(url, {"priority": "urgent"})) == [urgent_cardio.number]
    org_b = routine_ortho.referring_organization_id
    assert _numbers(client.get(url, {"org": org_b})) == [routine_ortho.number]
    assert _numbers(client.get(url, {"blocker": BlockerKind.REFERRER_NOT_VERIFIED})) == [
        unknown_referrer.number
    ]


def test_it_shows_every_way_in_together_and_filters_by_one(client, line, clinician, intake):
    by_fax = factories.referral(line=line, clinician=clinician, actor=intake)
    by_hl7 = factories.referral(line=line, clinician=clinician, channel=Channel.HL7)
    by_fhir = factories.referral(line=line, clinician=clinician, channel=Channel.FHIR)
    sign_in(client, intake)
    url = reverse("worklist")

    everything = client.get(url)
    assert set(_numbers(everything)) == {by_fax.number, by_hl7.number, by_fhir.number}
    assert "HL7 v2" in everything.content.decode()
    assert _numbers(client.get(url, {"channel": Channel.HL7})) == [by_hl7.number]


def test_it_filters_by_clock_status(client, line, clinician, intake):
    now = timezone.now()
    breached = factories.referral(line=line, clinician=clinician, actor=intake)
    at_risk = factories.referral(line=line, clinician=clinician, actor=intake)
    on_track = factories.referral(line=line, clinician=clinician, actor=intake)
    waiting = factories.referral(line=line, clinician=clinician, actor=intake, complete=False)
    _set_times(breached, due=now - dt.timedelta(hours=1), at_risk=now - dt.timedelta(hours=2))
    _set_times(at_risk, due=now + dt.timedelta(hours=1), at_risk=now - dt.timedelta(minutes=5))
    _set_times(on_track, due=now + dt.timedelta(hours=9), at_risk=now + dt.timedelta(hours=7))
    _set_times(waiting, due=None, at_risk=None)
    sign_in(client, intake)
    url = reverse("worklist")

    assert _numbers(client.get(url, {"clock": "breached"})) == [breached.number]
    assert _numbers(client.get(url, {"clock": "at_risk"})) == [at_risk.number]
    assert _numbers(client.get(url, {"clock": "on_track"})) == [on_track.number]
    assert _numbers(client.get(url, {"clock": "waiting"})) == [waiting.number]


def test_it_shows_my_work_and_the_unassigned_queue(client, line, clinician, intake, scheduler):
    mine = factories.referral(line=line, clinician=clinician, actor=intake)
    theirs = factories.referral(line=line, clinician=clinician, actor=intake)
    nobody = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_assign(referral_ids=[mine.pk], assignee=intake, actor=intake)
    referral_assign(referral_ids=[theirs.pk], assignee=scheduler, actor=intake)
    sign_in(client, intake)
    url = reverse("worklist")

    assert _numbers(client.get(url, {"assignee": "me"})) == [mine.number]
    assert _numbers(client.get(url, {"assignee": "none"})) == [nobody.number]
    assert _numbers(client.get(url, {"assignee": scheduler.pk})) == [theirs.number]


def test_it_pages_25_at_a_time(client, line, clinician, intake):
    for _ in range(27):
        factories.referral(line=line, clinician=clinician, actor=intake)
    sign_in(client, intake)

    first = client.get(reverse("worklist"))
    second = client.get(reverse("worklist"), {"page": 2})

    assert len(_numbers(first)) == 25
    assert len(_numbers(second)) == 2
    assert "page=2" in first.content.decode()
    assert set(_numbers(first)).isdisjoint(_numbers(second))


def test_it_reassigns_in_bulk_and_one_by_one(client, line, clinician, intake, scheduler):
    a, b, c = (factories.referral(line=line, clinician=clinician, actor=intake) for _ in range(3))
    sign_in(client, intake)

    response = client.post(
        reverse("worklist_assign"),
        {"referral": [a.pk, b.pk], "assignee": scheduler.pk, "next": "/?state=received"},
    )
    assert response["Location"] == "/?state=received"
    client.post(reverse("worklist_assign"), {"take": c.pk})

    assignees = dict(Referral.objects.values_list("pk", "assignee_id"))
    assert assignees == {a.pk: scheduler.pk, b.pk: scheduler.pk, c.pk: intake.pk}
    assert a.events.filter(kind="assigned").count() == 1


def test_it_lets_only_assigners_reassign(client, referral, triage):
    sign_in(client, triage)

    response = client.post(reverse("worklist_assign"), {"take": referral.pk})

    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.assignee is None


def test_it_logs_the_referrals_a_person_listed(client, referral, scheduler):
    sign_in(client, scheduler)

    client.get(reverse("worklist"))

    entry = AccessLogEntry.objects.get(action="list")
    assert (entry.username, entry.object_id, entry.patient_id) == (
        "scheduler",
        str(referral.pk),
        referral.patient_id,
    )


def test_it_keeps_patient_data_out_of_filter_links(client, referral, intake):
    sign_in(client, intake)

    page = client.get(reverse("worklist"), {"line": referral.service_line_id}).content.decode()

    for href in re.findall(r'href="([^"]*)"', page):
        assert "Quill" not in href and "1970" not in href


@pytest.mark.parametrize("filters", [{}, {"state": "received", "clock": "on_track"}])
def test_it_runs_the_same_queries_for_1_row_and_50(client, line, clinician, intake, filters):
    factories.referral(line=line, clinician=clinician, actor=intake)
    sign_in(client, intake)
    client.get(reverse("worklist"))  # warm the session and caches alike for both counts
    with CaptureQueriesContext(connection) as one:
        assert len(_numbers(client.get(reverse("worklist"), filters))) == 1
    for _ in range(49):
        factories.referral(line=line, clinician=factories.referrer(), actor=intake)
    with CaptureQueriesContext(connection) as fifty:
        assert len(_numbers(client.get(reverse("worklist"), filters))) == 25

    assert len(fifty) == len(one)


def test_it_answers_a_domain_error_with_its_status_and_message(client, intake):
    sign_in(client, intake)

    response = client.post(reverse("worklist_assign"), {"take": 987654})

    assert response.status_code == 404
    assert "No such referral." in response.content.decode()


def test_it_shows_when_a_scheduled_referral_is_seen(client, line, clinician, intake, triage):
    from refloop.access.services import appointment_book
    from refloop.referrals.enums import Milestone
    from refloop.referrals.services import milestone_record

    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    # With the referrer acknowledged and the visit booked, no clock runs until the visit.
    milestone_record(referral_id=referral.pk, milestone=Milestone.ACKNOWLEDGED, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage)
    visit = timezone.localtime(timezone.now() + dt.timedelta(days=9)).replace(
        second=0, microsecond=0
    )
    appointment_book(referral_id=referral.pk, starts_at=visit, actor=None)
    sign_in(client, intake)

    page = client.get(reverse("worklist")).content.decode()

    assert f"visit {visit:%Y-%m-%d %H:%M}" in page
