"""The sender revises its referral (HL7 REF^I13, a FHIR ServiceRequest update): referral_revise."""

import pytest

from refloop.core.errors import DomainError, NotAllowed, NotFound
from refloop.referrals.enums import CancelReason, EventKind, Priority, State
from refloop.referrals.services import referral_revise, referral_transition
from tests import factories


@pytest.fixture
def referral(db):
    return factories.referral()


def test_it_changes_what_the_sender_told_us_and_says_what_changed(referral):
    revised = referral_revise(
        referral_id=referral.pk, actor=None, priority=Priority.URGENT, diagnoses=("m17.12",)
    )

    assert (revised.priority, revised.diagnoses) == (Priority.URGENT, ["M17.12"])
    assert revised.version == referral.version + 1
    event = revised.events.get(kind=EventKind.REVISED)
    assert event.details["changes"] == {
        "priority": {"from": Priority.ROUTINE, "to": Priority.URGENT},
        "diagnoses": {"from": ["M17.11"], "to": ["M17.12"]},
    }


def test_it_writes_nothing_when_nothing_changed(referral):
    referral_revise(referral_id=referral.pk, actor=None, reason=referral.reason, priority="routine")

    assert not referral.events.filter(kind=EventKind.REVISED).exists()


def test_it_refuses_bad_codes_before_writing(referral):
    with pytest.raises(DomainError, match="ICD-10-CM"):
        referral_revise(referral_id=referral.pk, actor=None, diagnoses=("NOT-A-CODE",))
    with pytest.raises(DomainError, match="priority"):
        referral_revise(referral_id=referral.pk, actor=None, priority="whenever")

    assert not referral.events.filter(kind=EventKind.REVISED).exists()


def test_it_refuses_an_ended_referral(referral):
    referral_transition(
        referral_id=referral.pk,
        to_state=State.CANCELLED,
        actor=None,
        reason=CancelReason.REFERRER_WITHDREW,
    )

    with pytest.raises(DomainError, match="cannot be revised"):
        referral_revise(referral_id=referral.pk, actor=None, reason="Changed my mind")


def test_it_lets_only_intake_revise_for_a_sender(referral, liaison, intake):
    with pytest.raises(NotAllowed):
        referral_revise(referral_id=referral.pk, actor=liaison, reason="Other")

    referral_revise(referral_id=referral.pk, actor=intake, reason="Worse at night")


def test_it_says_when_there_is_no_such_referral(db):
    with pytest.raises(NotFound):
        referral_revise(referral_id=987654, actor=None, reason="Anything")
