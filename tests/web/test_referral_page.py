"""The referral page: what it shows, the actions it offers, and doing them through the views."""

import datetime as dt
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from refloop.core.models import AccessLogEntry
from refloop.referrals.enums import (
    BlockerKind,
    ChecklistStatus,
    EventKind,
    State,
)
from refloop.referrals.models import Referral
from refloop.referrals.services import referral_transition
from tests import factories
from tests.factories import PDF_BYTES, ago
from tests.web.helpers import sign_in


def _page(client, referral):
    return client.get(reverse("referral_detail", args=[referral.pk]))


def _offered(client, referral) -> set[str]:
    html = _page(client, referral).content.decode()
    return set(re.findall(rf"/referrals/{referral.pk}/do/(\w+)/", html))


def act(client, referral, action, **fields):
    """Do what a person does: open the page, take the version from the action's form, send it."""
    html = _page(client, referral).content.decode()
    found = re.search(rf'name="{action}-version" value="(\d+)"', html)
    assert found, f"{action} is not offered on the page"
    data = {f"{action}-version": found.group(1)}
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return client.post(reverse("referral_act", args=[referral.pk, action]), data)


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_it_takes_a_referral_from_received_to_closed_through_the_pages(
    client, referral, intake, triage, scheduler, care_team
):
    sign_in(client, intake)
    assert act(client, referral, "acknowledge").status_code == 302
    assert act(client, referral, "triage").status_code == 302

    sign_in(client, triage)
    assert act(client, referral, "accept").status_code == 302

    sign_in(client, scheduler)
    assert act(client, referral, "first_contact").status_code == 302
    visit = timezone.now() - dt.timedelta(minutes=30)
    booked = act(client, referral, "book", starts_at=_local(visit), location="Clinic 2")
    assert booked.status_code == 302
    assert act(client, referral, "outcome", outcome="attended").status_code == 302

    sign_in(client, care_team)
    report = SimpleUploadedFile("report.pdf", PDF_BYTES, content_type="application/pdf")
    closed = act(client, referral, "report", file=report, channel="fax")
    assert closed.status_code == 302

    referral.refresh_from_db()
    assert referral.state == State.CLOSED
    path = list(
        referral.events.filter(kind=EventKind.STATE_CHANGED).values_list("to_state", flat=True)
    )
    assert path == [State.TRIAGE, State.ACCEPTED, State.SCHEDULED, State.COMPLETED, State.CLOSED]
    assert referral.acknowledged_at and referral.first_contact_at
    page = client.get(closed["Location"]).content.decode()
    assert "Report recorded as sent; the referral is closed." in page
    assert "Consult report" in page
    assert {"report", "cancel", "book", "outcome"}.isdisjoint(_offered(client, referral))


def test_it_offers_only_what_this_state_and_role_allow(client, referral, intake, triage, scheduler):
    sign_in(client, scheduler)
    assert {"accept", "triage", "decline", "book", "acknowledge"}.isdisjoint(
        _offered(client, referral)
    )

    sign_in(client, intake)
    offered = _offered(client, referral)
    assert {"acknowledge", "triage", "cancel", "assign"} <= offered
    assert "accept" not in offered

    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    sign_in(client, triage)
    offered = _offered(client, referral)
    assert {"accept", "decline", "redirect"} <= offered
    assert {"cancel", "book", "triage"}.isdisjoint(offered)


def test_it_refuses_an_action_the_role_does_not_have(client, referral, scheduler, intake):
    sign_in(client, intake)
    version = Referral.objects.get(pk=referral.pk).version
    sign_in(client, scheduler)

    response = client.post(
        reverse("referral_act", args=[referral.pk, "triage"]), {"triage-version": version}
    )

    assert response.status_code == 403
    assert "not open to you" in response.content.decode()
    referral.refresh_from_db()
    assert referral.state == State.RECEIVED


def test_it_refuses_a_stale_form_when_someone_else_acted_first(client, referral, intake, manager):
    sign_in(client, intake)
    html = _page(client, referral).content.decode()
    seen = re.search(r'name="triage-version" value="(\d+)"', html).group(1)
    # Meanwhile a manager cancels it.
    referral_transition(
        referral_id=referral.pk, to_state=State.CANCELLED, reason="seen_elsewhere", actor=manager
    )

    response = client.post(
        reverse("referral_act", args=[referral.pk, "triage"]), {"triage-version": seen}
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed this referral" in page
    assert "Cancelled" in page  # the fresh page, as it is now
    referral.refresh_from_db()
    assert referral.state == State.CANCELLED
    assert not referral.events.filter(to_state=State.TRIAGE).exists()


def test_it_shows_a_domain_error_with_its_status_not_a_server_error(client, referral, intake):
    sign_in(client, intake)
    tomorrow = timezone.now() + dt.timedelta(days=1)

    response = act(client, referral, "acknowledge", occurred_at=_local(tomorrow))

    assert response.status_code == 400
    assert "That time is in the future." in response.content.decode()
    referral.refresh_from_db()
    assert referral.acknowledged_at is None


def test_it_asks_for_a_coded_reason_to_decline(client, referral, intake, triage):
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    sign_in(client, triage)

    missing = act(client, referral, "decline", note="no")
    assert missing.status_code == 400
    assert "This field is required" in missing.content.decode()

    act(client, referral, "decline", reason="primary_care", note="PT first")
    referral.refresh_from_db()
    assert (referral.state, referral.outcome_reason) == (State.DECLINED, "primary_care")
    page = _page(client, referral).content.decode()
    assert "Can be managed in primary care" in page


def test_it_records_where_a_redirected_referral_goes(client, referral, intake, triage):
    cardiology = factories.service_line(code="cardiology", name="Cardiology")
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    sign_in(client, triage)

    without_line = act(client, referral, "redirect", reason="other_service_line")
    assert without_line.status_code == 400
    act(client, referral, "redirect", reason="other_service_line", service_line=cardiology.pk)

    event = referral.events.get(to_state=State.REDIRECTED)
    assert event.details == {"service_line_id": cardiology.pk}
    referral.refresh_from_db()
    assert referral.redirected_to.service_line == cardiology
    assert f'redirected to <a href="/referrals/{referral.redirected_to_id}/">' in (
        _page(client, referral).content.decode()
    )
    page = _page(client, referral.redirected_to).content.decode()
    assert "Received" in page and referral.patient.last_name in page


def test_it_rebooks_after_a_no_show(client, referral, intake, triage, scheduler):
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage)
    sign_in(client, scheduler)
    act(client, referral, "book", starts_at=_local(ago(minutes=20)))

    act(client, referral, "outcome", outcome="no_show")
    assert "Rebook appointment" in _page(client, referral).content.decode()
    act(client, referral, "book", starts_at=_local(timezone.now() + dt.timedelta(days=3)))

    referral.refresh_from_db()
    assert referral.state == State.SCHEDULED
    assert referral.appointments.count() == 2


def test_it_sends_a_booked_referral_back_to_accepted_only_by_cancelling_the_visit(
    client, referral, intake, triage, scheduler
):
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    sign_in(client, triage)
    assert "accept" in _offered(client, referral)
    assert act(client, referral, "accept").status_code == 302
    sign_in(client, scheduler)
    act(client, referral, "book", starts_at=_local(timezone.now() + dt.timedelta(days=3)))

    # "Accept" would leave the visit booked; cancelling it is the appointment's outcome.
    offered = _offered(client, referral)
    assert "accept" not in offered and "outcome" in offered
    act(client, referral, "outcome", outcome="cancelled")

    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED
    assert list(referral.appointments.values_list("outcome", flat=True)) == ["cancelled"]


def test_it_cancels_with_a_reason(client, referral, intake):
    sign_in(client, intake)

    act(client, referral, "cancel", reason="patient_declined", note="Prefers to wait")

    referral.refresh_from_db()
    assert (referral.state, referral.outcome_reason) == (State.CANCELLED, "patient_declined")


def test_it_ticks_the_checklist_and_keeps_the_records_blocker_in_step(client, line, intake):
    referral = factories.referral(line=line, actor=intake, complete=False)
    item = referral.checklist.get()
    sign_in(client, intake)
    assert referral.blockers.filter(kind=BlockerKind.MISSING_RECORDS, resolved_at=None).exists()

    act(client, referral, "checklist", item=item.pk, status=ChecklistStatus.WAIVED)

    item.refresh_from_db()
    assert item.status == ChecklistStatus.WAIVED
    assert not referral.blockers.filter(kind=BlockerKind.MISSING_RECORDS, resolved_at=None).exists()


def test_it_opens_and_resolves_a_blocker_and_adds_notes(client, referral, scheduler):
    sign_in(client, scheduler)

    act(client, referral, "blocker_open", kind=BlockerKind.PATIENT_NOT_REACHED, note="2 calls")
    assert "Patient not reached" in _page(client, referral).content.decode()
    act(client, referral, "blocker_resolve", kind=BlockerKind.PATIENT_NOT_REACHED)
    act(client, referral, "note", text="Patient prefers mornings")

    referral.refresh_from_db()
    assert referral.open_blocker_count == 0
    assert referral.blockers.get().resolved_at is not None
    assert "Patient prefers mornings" in _page(client, referral).content.decode()


def test_it_lets_a_manager_correct_an_event(client, referral, intake, manager):
    sign_in(client, intake)
    assert "correct" not in _offered(client, referral)
    received = referral.events.get(kind=EventKind.RECEIVED)

    sign_in(client, manager)
    act(client, referral, "correct", event=received.pk, note="Arrived by e-mail, not fax")

    correction = referral.events.get(kind=EventKind.CORRECTION)
    assert correction.corrects == received
    page = _page(client, referral).content.decode()
    assert "Arrived by e-mail, not fax" in page
    assert "Corrected" in page


def test_it_shows_the_clocks_and_the_whole_timeline(client, referral, intake):
    sign_in(client, intake)

    page = _page(client, referral).content.decode()

    assert "Acknowledge the referrer" in page
    assert "On track" in page or "Breached" in page or "At risk" in page
    for event in referral.events.all():
        assert f'id="event-{event.pk}"' in page


def test_it_logs_every_view_of_the_referral(client, referral, triage):
    sign_in(client, triage)

    _page(client, referral)
    _page(client, referral)

    entries = AccessLogEntry.objects.filter(action="view", object_type="referral")
    assert entries.count() == 2
    assert {(e.username, e.object_id, e.patient_id) for e in entries} == {
        ("triage", str(referral.pk), referral.patient_id)
    }


def test_it_answers_404_for_a_referral_that_does_not_exist(client, intake):
    sign_in(client, intake)

    assert client.get(reverse("referral_detail", args=[999999])).status_code == 404


def test_it_tells_the_timeline_in_words(client, referral, intake, triage, scheduler):
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage)
    sign_in(client, scheduler)
    visit = timezone.localtime(timezone.now() + dt.timedelta(days=3)).replace(
        second=0, microsecond=0
    )
    act(client, referral, "book", starts_at=_local(visit))

    page = _page(client, referral).content.decode()
    assert f"appointment {visit:%Y-%m-%d %H:%M}" in page
    assert "Appointment_at" not in page and "appointment_id" not in page.lower()


def test_it_names_people_in_the_timeline_without_a_query_per_event(
    client, referral, intake, scheduler, manager
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from refloop.referrals.services import referral_assign

    sign_in(client, intake)
    referral_assign(referral_ids=[referral.pk], assignee=scheduler, actor=intake)
    with CaptureQueriesContext(connection) as one:
        page = _page(client, referral).content.decode()
    assert f"to {scheduler.get_username()}" in page
    for assignee in [intake, scheduler, manager] * 5:
        referral_assign(referral_ids=[referral.pk], assignee=assignee, actor=intake)
    with CaptureQueriesContext(connection) as many:
        _page(client, referral)
    assert len(many) == len(one)
