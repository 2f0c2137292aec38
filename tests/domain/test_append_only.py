"""Events and the access log are append-only (a database trigger refuses UPDATE and DELETE), and a
mistake is undone by a manager's correction event."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from refloop.core.access_log import access_log_write
from refloop.core.append_only import trigger_names
from refloop.core.errors import DomainError, NotAllowed
from refloop.core.models import AccessLogEntry
from refloop.referrals.enums import EventKind, State
from refloop.referrals.models import ReferralEvent
from refloop.referrals.services import event_correct, referral_transition
from tests import factories

EVENTS = "referrals_referralevent"
ACCESS_LOG = "core_accesslogentry"


def refused(sql: str, params=()) -> bool:
    """Run one statement in a savepoint; True if the database refused it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError:
        return True
    return False


@pytest.fixture
def event(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    referral_transition(referral_id=referral.pk, to_state=State.TRIAGE, actor=intake)
    return referral.events.get(kind=EventKind.STATE_CHANGED)


@pytest.fixture
def log_entry(intake):
    request = RequestFactory().get("/referrals/1/", REMOTE_ADDR="10.0.0.7")
    request.user = intake
    return access_log_write(
        request=request, action="view", object_type="referral", object_id=1, patient_id=1
    )


def test_it_has_the_triggers_in_place(db):
    if connection.vendor == "postgresql":
        expected = {EVENTS: {f"{EVENTS}_append_only"}, ACCESS_LOG: {f"{ACCESS_LOG}_append_only"}}
    else:
        expected = {
            EVENTS: {f"{EVENTS}_no_update", f"{EVENTS}_no_delete"},
            ACCESS_LOG: {f"{ACCESS_LOG}_no_update", f"{ACCESS_LOG}_no_delete"},
        }
    for table, names in expected.items():
        assert names <= trigger_names(connection, table)


def test_it_refuses_to_update_or_delete_an_event(event):
    assert refused(f"UPDATE {EVENTS} SET note = 'rewritten' WHERE id = %s", [event.pk])
    assert refused(f"UPDATE {EVENTS} SET to_state = 'cancelled' WHERE id = %s", [event.pk])
    assert refused(f"DELETE FROM {EVENTS} WHERE id = %s", [event.pk])
    assert refused(f"DELETE FROM {EVENTS}")
    kept = ReferralEvent.objects.get(pk=event.pk)
    assert (kept.note, kept.to_state) == ("", State.TRIAGE)


def test_it_refuses_to_change_an_event_through_the_orm(event):
    event.note = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralEvent.objects.filter(pk=event.pk).delete()
    assert ReferralEvent.objects.get(pk=event.pk).note == ""


def test_it_refuses_to_update_or_delete_an_access_log_entry(log_entry):
    assert refused(f"UPDATE {ACCESS_LOG} SET username = 'someone' WHERE id = %s", [log_entry.pk])
    assert refused(f"DELETE FROM {ACCESS_LOG} WHERE id = %s", [log_entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.all().delete()
    kept = AccessLogEntry.objects.get(pk=log_entry.pk)
    assert (kept.username, kept.ip_address) == ("intake", "10.0.0.7")


def test_it_still_appends_events_and_log_entries(event, log_entry):
    assert not refused(
        f"INSERT INTO {ACCESS_LOG} (at, username, action, object_type, object_id, user_agent, path)"
        " VALUES (%s, 'x', 'view', 'referral', '2', '', '')",
        [log_entry.at],
    )
    assert AccessLogEntry.objects.count() == 2


def test_it_lets_a_manager_correct_an_event(event, manager):
    correction = event_correct(event_id=event.pk, actor=manager, note="Moved to triage by mistake")
    assert correction.kind == EventKind.CORRECTION
    assert correction.corrects_id == event.pk
    assert correction.referral_id == event.referral_id
    assert correction.actor == manager
    assert correction.occurred_at >= event.occurred_at
    # The original stays as it was, now with a correction pointing at it.
    original = ReferralEvent.objects.get(pk=event.pk)
    assert original.to_state == State.TRIAGE
    assert list(original.corrections.all()) == [correction]


@pytest.mark.parametrize("role", ["intake", "triage", "scheduler", "care_team", "liaison"])
def test_it_refuses_a_correction_from_anyone_but_a_manager(event, role, request):
    person = request.getfixturevalue(role)
    before = ReferralEvent.objects.count()
    with pytest.raises(NotAllowed):
        event_correct(event_id=event.pk, actor=person, note="I would like to change this")
    assert ReferralEvent.objects.count() == before


def test_it_refuses_a_correction_that_does_not_say_what_was_wrong(event, manager):
    before = ReferralEvent.objects.count()
    with pytest.raises(DomainError, match="what was wrong"):
        event_correct(event_id=event.pk, actor=manager, note="   ")
    assert ReferralEvent.objects.count() == before
