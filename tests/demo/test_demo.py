"""The demo generator: legal paths, consistent clocks, reproducible, and the demo logins."""

import datetime as dt
import io
from collections import defaultdict

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Max
from django_otp.plugins.otp_totp.models import TOTPDevice

from refloop.access.models import Appointment
from refloop.core.calendar import practice_calendar
from refloop.core.models import Closure
from refloop.core.roles import Role
from refloop.demo.loader import demo_load
from refloop.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from refloop.demo.program import CLINICIAN_NPI_PREFIX
from refloop.demo.showcase import SHOWCASE_REFERENCE as SHOWCASE
from refloop.directory.enums import DocumentKind, Priority, TargetKind
from refloop.directory.models import Clinician, Organization, ResponseTarget, ServiceLine
from refloop.directory.validators import npi_is_valid
from refloop.loop.models import ReportSent
from refloop.referrals import clocks
from refloop.referrals.enums import (
    OPEN_STATES,
    TRANSITIONS,
    WAITING_BLOCKERS,
    ChecklistStatus,
    EventKind,
    State,
)
from refloop.referrals.models import Document, Referral, ReferralEvent
from tests import factories

# A fixed "today", so that two loads with the same seed can be compared.
NOW = dt.datetime(2025, 6, 11, 19, 30, tzinfo=dt.UTC)


@pytest.fixture
def demo(db):
    return demo_load(scale=0.02, seed=7, now=NOW)


def _events_by_referral():
    events = defaultdict(list)
    for event in ReferralEvent.objects.order_by("id"):
        events[event.referral_id].append(event)
    return events


def test_it_loads_the_program_and_referrals_over_two_years(demo):
    # The generated history, plus the showcase referral told through the services.
    assert demo.referrals == Referral.objects.exclude(sender_reference=SHOWCASE).count() == 500
    assert Referral.objects.filter(sender_reference=SHOWCASE, state=State.CLOSED).exists()
    assert ServiceLine.objects.count() == 6
    for line in ServiceLine.objects.all():
        assert line.description and line.acceptance_criteria and line.exclusions
        assert line.phone and line.fax and line.secure_email and line.patient_instructions
        assert line.checklist.exists() and line.plans_accepted.exists()
        assert line.targets.count() == len(TargetKind) * len(Priority)
    assert Organization.objects.filter(kind="referring_practice").count() >= 100
    assert Closure.objects.count() >= 2
    first = Referral.objects.order_by("received_at").first().received_at
    assert NOW - first > dt.timedelta(days=700)
    assert Referral.objects.filter(received_at__gt=NOW).count() == 0
    assert (
        ResponseTarget.objects.filter(kind=TargetKind.APPOINTMENT)
        .exclude(unit="calendar_days")
        .count()
        == 0
    )


def test_it_tells_each_referral_as_a_legal_path_with_times_that_never_run_backwards(demo):
    events = _events_by_referral()
    for referral in Referral.objects.all():
        path = events[referral.pk]
        assert path[0].kind == EventKind.RECEIVED
        assert path[0].occurred_at == referral.received_at
        state, last_change = State.RECEIVED, referral.received_at
        previous = path[0]
        for event in path:
            assert event.occurred_at >= previous.occurred_at
            assert event.recorded_at >= previous.recorded_at
            assert event.occurred_at <= event.recorded_at <= NOW
            if event.kind == EventKind.STATE_CHANGED:
                assert event.from_state == state
                assert event.to_state in TRANSITIONS[state]
                state, last_change = event.to_state, event.occurred_at
            previous = event
        assert referral.state == state
        assert referral.state_changed_at == last_change


def test_it_closes_referrals_only_with_a_viewable_report_sent(demo):
    closed = Referral.objects.filter(state=State.CLOSED)
    assert closed.count() > 100
    for referral in closed.prefetch_related("reports_sent__document"):
        sent = referral.reports_sent.get()
        assert sent.document.kind == DocumentKind.REPORT
        assert sent.sent_at == referral.closed_at
    name = ReportSent.objects.first().document.original.name
    with default_storage.open(name) as file:
        assert file.read(5) == b"%PDF-"


def _replay(referral, events, calendar):
    """Rebuild the clocks from the events alone, as the services would have kept them."""
    book = clocks.ClockBook(
        referral_id=referral.pk,
        priority=referral.priority,
        targets=clocks.targets_for(referral.service_line_id, referral.priority),
        calendar=calendar,
    )
    open_blockers, waiting, version, at_intake = set(), False, 1, True
    for event in events:
        at = event.occurred_at
        if event.kind == EventKind.RECEIVED:
            clocks.on_received(book, at)
            continue
        if event.kind == EventKind.BLOCKER_OPENED:
            version += 0 if at_intake else 1
            open_blockers.add(event.code)
        elif event.kind == EventKind.BLOCKER_RESOLVED:
            version += 1
            open_blockers.discard(event.code)
        else:
            at_intake = False
        if event.kind == EventKind.STATE_CHANGED:
            version += 1
            appointment = event.details.get("appointment_at")
            clocks.on_transition(
                book,
                from_state=event.from_state,
                to_state=event.to_state,
                at=at,
                appointment_at=dt.datetime.fromisoformat(appointment) if appointment else None,
            )
        elif event.kind == EventKind.MILESTONE:
            version += 1
            clocks.on_milestone(book, milestone=event.code, at=at)
        elif event.kind in {EventKind.DOCUMENT_ADDED, EventKind.ASSIGNED}:
            version += 1
        elif event.kind == EventKind.CHECKLIST and event.code != ChecklistStatus.RECEIVED:
            version += 1  # asked for or waived on a form; a matched document claims no version
        now_waiting = bool(open_blockers & WAITING_BLOCKERS)
        if now_waiting != waiting and event.kind in {
            EventKind.BLOCKER_OPENED,
            EventKind.BLOCKER_RESOLVED,
        }:
            clocks.on_waiting_changed(book, waiting=now_waiting, at=at)
        elif event.kind == EventKind.STATE_CHANGED and now_waiting:
            clocks.on_waiting_changed(book, waiting=True, at=at)
        waiting = now_waiting
    return book, len(open_blockers), version


CLOCK_FIELDS = [
    "unit",
    "around_the_clock",
    "target_seconds",
    "started_at",
    "due_at",
    "at_risk_at",
    "paused_since",
    "paused_seconds",
    "stopped_at",
    "gross_seconds",
    "net_seconds",
    "outcome",
]


def test_it_keeps_clocks_and_rows_as_the_services_would(demo):
    calendar = practice_calendar()
    events = _events_by_referral()
    for referral in Referral.objects.prefetch_related("clocks"):
        book, open_blockers, version = _replay(referral, events[referral.pk], calendar)
        stored = {clock.kind: clock for clock in referral.clocks.all()}
        assert set(stored) == set(book.clocks)
        for kind, clock in book.clocks.items():
            for name in CLOCK_FIELDS:
                assert getattr(stored[kind], name) == getattr(clock, name), (referral.pk, kind)
        assert (referral.next_due_at, referral.next_at_risk_at) == book.next_times()
        assert referral.open_blocker_count == open_blockers
        assert (
            referral.open_blocker_count
            == referral.blockers.filter(resolved_at__isnull=True).count()
        )
        if referral.sender_reference != SHOWCASE:
            # The generator claims one version per event; the services sometimes claim once for
            # several (a records request marks three checklist items in one claim).
            assert referral.version == version


def test_it_has_realistic_rates_and_open_work_today(demo):
    referrals = Referral.objects.all()
    seen = referrals.filter(completed_at__isnull=False).count() / 500
    assert 0.45 < seen < 0.7  # a third to a half never complete
    attended = Appointment.objects.filter(outcome=Appointment.Outcome.ATTENDED).count()
    missed = Appointment.objects.filter(outcome=Appointment.Outcome.NO_SHOW).count()
    assert 0.06 < missed / (attended + missed) < 0.23
    assert referrals.filter(state__in=OPEN_STATES).count() > 10
    assert referrals.filter(priority=Priority.ROUTINE).count() > 350
    assert referrals.filter(channel="fax").count() > referrals.exclude(channel="fax").count() / 2
    assert referrals.filter(state=State.CANCELLED).exclude(outcome_reason="").count() == (
        referrals.filter(state=State.CANCELLED).count()
    )


def _fingerprint():
    return [
        (
            r.received_at,
            r.state,
            r.priority,
            r.channel,
            r.patient.last_name,
            r.version,
            r.next_due_at,
            r.events.count(),
        )  # fmt: skip
        for r in Referral.objects.select_related("patient").order_by("received_at", "id")
    ]


def _load_and_forget(seed):
    with transaction.atomic():
        demo_load(scale=0.004, seed=seed, now=NOW)
        fingerprint = _fingerprint()
        transaction.set_rollback(True)
    return fingerprint


def test_it_makes_the_same_data_from_the_same_seed(db):
    first = _load_and_forget(seed=11)
    assert len(first) == 101  # 100 generated and the showcase
    assert _load_and_forget(seed=11) == first
    assert _load_and_forget(seed=12) != first


def test_it_leaves_ids_and_json_as_the_app_expects_them(demo):
    # The bulk writer hands out ids itself; PostgreSQL's sequences must have been moved past them.
    intake = User.objects.get(username=next(u for r, u, _, _ in DEMO_LOGINS if r == Role.INTAKE))
    tops = {model: model.objects.aggregate(top=Max("pk"))["top"] for model in (Referral, Document)}
    new = factories.referral(line=ServiceLine.objects.first(), actor=intake)
    assert new.pk > tops[Referral]
    assert new.documents.get().pk > tops[Document]
    assert new.patient.referrals.count() == 1
    # JSON went in as objects and lists, not as quoted text.
    assert ReferralEvent.objects.filter(details__has_key="appointment_at").exists()
    assert Referral.objects.filter(diagnoses__0__isnull=False).count() > 400


def test_it_uses_synthetic_valid_npis(demo):
    npis = list(Clinician.objects.values_list("npi", flat=True))
    assert len(npis) >= 400 and len(set(npis)) == len(npis)
    assert all(npi_is_valid(npi) and npi.startswith(CLINICIAN_NPI_PREFIX) for npi in npis)


def test_it_loads_only_into_an_empty_database_when_asked_if_empty(db):
    out = io.StringIO()
    call_command("refloop_demo", "--scale", "0.004", "--if-empty", stdout=out)
    count = Referral.objects.count()
    # 100 generated, the showcase, and today's arrivals by every way in: a fax, two by FHIR, one
    # by HL7, one by the e-referral form and 11 rows of a spreadsheet.
    assert count == 101 + 16
    assert "Arrived today by every way in" in out.getvalue()
    assert "make code USER=manager" in out.getvalue()
    assert "demo" in out.getvalue().lower()

    again = io.StringIO()
    call_command("refloop_demo", "--scale", "0.004", "--if-empty", stdout=again)
    assert Referral.objects.count() == count
    assert "already" in again.getvalue()
    with pytest.raises(CommandError, match="already has referrals"):
        call_command("refloop_demo", "--scale", "0.004")


def test_it_creates_one_demo_login_per_role_with_two_factor_for_managers_and_admins(demo):
    for role, username, _, _ in DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert list(user.groups.values_list("name", flat=True)) == [role.label]
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        assert (device is not None) == (role in {Role.MANAGER, Role.ADMIN})
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser

    out = io.StringIO()
    call_command("refloop_demo_code", "manager", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    assert TOTPDevice.objects.get(user__username="manager").verify_token(code)
    with pytest.raises(CommandError):
        call_command("refloop_demo_code", "intake")
