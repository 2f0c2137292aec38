"""Prior authorization: the payer rule decides, pending is a blocker with its own clock, the
booking is checked against the validity, approvals run out."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from refloop.access.jobs import authorizations_start, authorizations_watch
from refloop.access.models import Authorization, AuthorizationStatus, PayerRule
from refloop.access.services import (
    appointment_book,
    authorization_approve,
    authorization_booking_problem,
    authorization_deny,
    authorization_start,
    authorization_submit,
)
from refloop.alerts.models import Alert
from refloop.core.errors import DomainError
from refloop.directory.models import Coverage
from refloop.referrals.enums import BlockerKind, EventKind, Milestone, State
from refloop.referrals.services import referral_transition
from tests import factories
from tests.factories import ago
from tests.web.helpers import sign_in

TZ = timezone.get_default_timezone()


def _accepted(line, triage, payer="Acme Health"):
    referral = factories.referral(line=line, received_at=ago(days=3), last_name="Quill")
    if payer:
        Coverage.objects.create(patient=referral.patient, payer=payer, member_id="M-1")
    for state, hours in ((State.TRIAGE, 1), (State.ACCEPTED, 2)):
        referral_transition(
            referral_id=referral.pk,
            to_state=state,
            actor=triage,
            occurred_at=ago(days=3) + dt.timedelta(hours=hours),
        )
    referral.refresh_from_db()
    return referral


@pytest.fixture
def rule(line):
    return PayerRule.objects.create(service_line=line, payer="ACME HEALTH")


def _open_blockers(referral):
    return set(referral.blockers.filter(resolved_at__isnull=True).values_list("kind", flat=True))


def test_it_needs_no_authorization_when_the_payer_has_no_rule(line, triage, scheduler):
    referral = _accepted(line, triage, payer="Other Mutual")
    PayerRule.objects.create(service_line=line, payer="Acme Health")

    assert authorizations_start(timezone.now()) == 1

    assert referral.authorization.status == AuthorizationStatus.NOT_REQUIRED
    assert _open_blockers(referral) == set()
    assert authorization_booking_problem(referral_id=referral.pk, starts_at=timezone.now()) == ""


def test_it_opens_the_blocker_once_when_the_payer_requires_it(line, triage, scheduler, rule):
    referral = _accepted(line, triage)

    authorizations_start(timezone.now())
    authorizations_start(timezone.now())

    authorization = Authorization.objects.get(referral=referral)
    assert authorization.status == AuthorizationStatus.TO_REQUEST
    assert authorization.payer == "Acme Health"
    assert _open_blockers(referral) == {BlockerKind.AUTHORIZATION_PENDING}
    referral.refresh_from_db()
    assert not referral.ready_to_schedule
    opened = referral.events.filter(kind=EventKind.BLOCKER_OPENED)
    assert [(e.code, e.actor_id) for e in opened] == [(BlockerKind.AUTHORIZATION_PENDING, None)]


def test_it_tells_before_booking_that_a_required_authorization_was_not_asked_for(
    line, triage, rule
):
    referral = _accepted(line, triage)

    problem = authorization_booking_problem(referral_id=referral.pk, starts_at=timezone.now())

    assert problem == "Authorization is required and has not been requested yet."


def test_it_records_the_decision_then_resolves_the_blocker(line, triage, scheduler, rule):
    referral = _accepted(line, triage)
    authorization_start(referral_id=referral.pk, actor=scheduler)
    authorization_submit(referral_id=referral.pk, actor=scheduler)

    authorization = authorization_approve(
        referral_id=referral.pk,
        number="PA-778",
        valid_from=dt.date(2026, 12, 1),
        valid_to=dt.date(2026, 12, 31),
        actor=scheduler,
    )

    assert authorization.status == AuthorizationStatus.APPROVED
    assert authorization.next_check_at == dt.datetime(2027, 1, 1, tzinfo=TZ)
    events = list(referral.events.order_by("id").values_list("kind", "code"))
    assert events[-2:] == [
        (EventKind.MILESTONE, Milestone.AUTHORIZATION_DECIDED),
        (EventKind.BLOCKER_RESOLVED, BlockerKind.AUTHORIZATION_PENDING),
    ]
    assert _open_blockers(referral) == set()


def test_it_denies_only_with_a_reason(line, triage, scheduler, rule):
    referral = _accepted(line, triage)
    authorization_start(referral_id=referral.pk, actor=scheduler)

    with pytest.raises(DomainError, match="Say why"):
        authorization_deny(referral_id=referral.pk, reason="  ", actor=scheduler)
    authorization = authorization_deny(
        referral_id=referral.pk, reason="Not medically necessary", actor=scheduler
    )

    assert authorization.status == AuthorizationStatus.DENIED
    assert referral.events.filter(code=Milestone.AUTHORIZATION_DECIDED).get().note == (
        "Denied: Not medically necessary"
    )
    assert _open_blockers(referral) == set()
    problem = authorization_booking_problem(referral_id=referral.pk, starts_at=timezone.now())
    assert problem == "Authorization was denied."
    # An appeal is a new submission: waiting on the payer again.
    authorization_submit(referral_id=referral.pk, actor=scheduler)
    assert _open_blockers(referral) == {BlockerKind.AUTHORIZATION_PENDING}


def test_it_refuses_an_approval_that_is_not_pending(line, triage, scheduler):
    referral = _accepted(line, triage, payer="")
    authorization_start(referral_id=referral.pk, actor=scheduler)

    with pytest.raises(DomainError, match="not required cannot be approved"):
        authorization_approve(
            referral_id=referral.pk,
            number="X",
            valid_from=dt.date(2026, 12, 1),
            valid_to=dt.date(2026, 12, 2),
            actor=scheduler,
        )


def test_it_alerts_the_owner_once_when_the_payer_is_late(line, triage, scheduler, rule):
    line.authorization_target_hours = 9
    line.save()
    referral = _accepted(line, triage)
    authorization_start(referral_id=referral.pk, actor=scheduler)
    authorization = authorization_submit(referral_id=referral.pk, actor=scheduler)
    due = authorization.due_at

    authorizations_watch(due - dt.timedelta(minutes=1))
    assert not Alert.objects.exists()
    authorizations_watch(due + dt.timedelta(minutes=1))
    authorizations_watch(due + dt.timedelta(minutes=2))

    alert = Alert.objects.get()
    assert alert.recipient == scheduler
    assert alert.kind == "authorization_overdue"
    assert alert.text.startswith(f"{referral.number}: the payer's authorization decision")
    assert "Quill" not in alert.text


def test_it_does_not_alert_a_lateness_older_than_a_week(line, triage, scheduler, rule):
    referral = _accepted(line, triage)
    authorization_start(referral_id=referral.pk, actor=scheduler)
    authorization = authorization_submit(referral_id=referral.pk, actor=scheduler)

    authorizations_watch(authorization.due_at + dt.timedelta(days=8))

    assert not Alert.objects.exists()


def test_it_keeps_the_next_check_of_a_decision_made_while_the_job_looked(
    line, triage, scheduler, rule
):
    referral = _accepted(line, triage)
    authorization_start(referral_id=referral.pk, actor=scheduler)
    authorization = authorization_submit(referral_id=referral.pk, actor=scheduler)
    watched = authorization.due_at + dt.timedelta(minutes=1)
    # Valid for a month after the pass, so the approval's own check (the midnight after its last
    # day) is still ahead of the pass, whatever the date of the run.
    valid_from = timezone.localdate()
    valid_to = timezone.localdate(watched) + dt.timedelta(days=30)
    approval_check = dt.datetime.combine(valid_to + dt.timedelta(days=1), dt.time.min, TZ)

    def approve_first(execute, sql, params, many, context):
        # Just before the job clears the check it has handled, a scheduler records the approval
        # (as another connection would, between the job's read and its write).
        if sql.startswith('UPDATE "access_authorization"') and '"next_check_at" = NULL' in sql:
            Authorization.objects.filter(pk=authorization.pk).update(
                status=AuthorizationStatus.APPROVED,
                number="PA-5",
                valid_from=valid_from,
                valid_to=valid_to,
                next_check_at=approval_check,
            )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(approve_first):
        authorizations_watch(watched)

    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.APPROVED
    assert authorization.next_check_at == approval_check
    assert authorization.lease_until is None


def test_it_starts_only_recently_accepted_referrals_in_the_background(line, triage, rule):
    recent = _accepted(line, triage)
    old = factories.referral(line=line, received_at=ago(days=40))
    for state, days in ((State.TRIAGE, 39), (State.ACCEPTED, 31)):
        referral_transition(
            referral_id=old.pk, to_state=state, actor=triage, occurred_at=ago(days=days)
        )

    assert authorizations_start(timezone.now()) == 1

    assert Authorization.objects.filter(referral=recent).exists()
    assert not Authorization.objects.filter(referral=old).exists()


@pytest.mark.parametrize(
    ("local", "problem"),
    [
        (dt.datetime(2026, 11, 30, 23, 59), True),
        (dt.datetime(2026, 12, 1, 0, 0), False),
        (dt.datetime(2026, 12, 31, 23, 59), False),
        (dt.datetime(2027, 1, 1, 0, 0), True),
    ],
)
def test_it_flags_a_visit_outside_the_validity(line, triage, scheduler, rule, local, problem):
    referral = _accepted(line, triage)
    authorization_start(referral_id=referral.pk, actor=scheduler)
    problem_while_pending = authorization_booking_problem(
        referral_id=referral.pk, starts_at=local.replace(tzinfo=TZ)
    )
    authorization_approve(
        referral_id=referral.pk,
        number="PA-1",
        valid_from=dt.date(2026, 12, 1),
        valid_to=dt.date(2026, 12, 31),
        actor=scheduler,
    )

    said = authorization_booking_problem(
        referral_id=referral.pk, starts_at=local.replace(tzinfo=TZ)
    )

    assert problem_while_pending == "Authorization is still pending."
    expected = "The authorization is valid 2026-12-01 to 2026-12-31; this visit is outside it."
    assert said == (expected if problem else "")


def _approved_until(referral, scheduler, valid_to):
    authorization_start(referral_id=referral.pk, actor=scheduler)
    return authorization_approve(
        referral_id=referral.pk,
        number="PA-2",
        valid_from=valid_to - dt.timedelta(days=30),
        valid_to=valid_to,
        actor=scheduler,
    )


def test_it_expires_an_approval_that_ran_out_before_the_visit(line, triage, scheduler, rule):
    referral = _accepted(line, triage)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    _approved_until(referral, scheduler, yesterday)

    authorizations_watch(timezone.now())
    authorizations_watch(timezone.now())

    authorization = Authorization.objects.get(referral=referral)
    assert authorization.status == AuthorizationStatus.EXPIRED
    assert _open_blockers(referral) == {BlockerKind.AUTHORIZATION_PENDING}
    alert = Alert.objects.get()
    assert (alert.kind, alert.level, alert.recipient) == (
        "authorization_expired",
        "urgent",
        scheduler,
    )
    problem = authorization_booking_problem(referral_id=referral.pk, starts_at=timezone.now())
    assert problem == "The authorization has expired."


def test_it_keeps_an_approval_whose_visit_fell_inside_it(line, triage, scheduler, rule):
    referral = _accepted(line, triage)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    _approved_until(referral, scheduler, yesterday)
    appointment_book(referral_id=referral.pk, starts_at=ago(days=2), actor=scheduler)

    authorizations_watch(timezone.now())

    authorization = Authorization.objects.get(referral=referral)
    assert authorization.status == AuthorizationStatus.APPROVED
    assert authorization.next_check_at is None
    assert not Alert.objects.exists()


def _act(client, referral, action, **fields):
    html = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()
    marker = f'name="{action}-version" value="'
    assert marker in html, f"{action} is not offered"
    version = html.split(marker, 1)[1].split('"', 1)[0]
    data = {f"{action}-version": version, **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(reverse("referral_act", args=[referral.pk, action]), data)


def test_it_runs_the_authorization_from_the_referral_page(client, line, triage, scheduler, rule):
    referral = _accepted(line, triage)
    sign_in(client, scheduler)

    assert _act(client, referral, "authorization_check").status_code == 302
    assert _act(client, referral, "authorization_submit").status_code == 302
    bad = _act(
        client,
        referral,
        "authorization_approve",
        number="PA-9",
        valid_from="2026-12-31",
        valid_to="2026-12-01",
    )
    assert bad.status_code == 400
    assert "The validity ends before it starts." in bad.content.decode()
    approved = _act(
        client,
        referral,
        "authorization_approve",
        number="PA-9",
        valid_from="2026-12-01",
        valid_to="2026-12-31",
    )
    assert approved.status_code == 302

    page = client.get(approved["Location"]).content.decode()
    assert "Authorization approved." in page
    assert "PA-9" in page and "2026-12-01 to 2026-12-31" in page
    assert "authorization_deny" not in page


def test_it_offers_no_authorization_action_to_intake(client, line, triage, intake, rule):
    referral = _accepted(line, triage)
    sign_in(client, intake)

    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()

    assert "Authorization" in page
    assert "authorization_check" not in page


def test_it_decides_the_authorization_as_the_referral_is_accepted(client, line, triage, rule):
    referral = factories.referral(line=line, received_at=ago(days=1), last_name="Quill")
    Coverage.objects.create(patient=referral.patient, payer="Acme Health", member_id="M-1")
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=triage)
    sign_in(client, triage)

    assert _act(client, referral, "accept").status_code == 302

    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED
    assert Authorization.objects.get(referral=referral).status == AuthorizationStatus.TO_REQUEST
    assert _open_blockers(referral) == {BlockerKind.AUTHORIZATION_PENDING}
    assert authorizations_start(timezone.now()) == 0
