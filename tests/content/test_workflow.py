"""The content workflow: one function for every state change, who may make each, the audit
trail with the flags of the moment, the notifications, and versions kept."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refloop.alerts.models import Alert
from refloop.content.enums import ContentKind, ContentState
from refloop.content.models import ContentDecision, ContentVersion
from refloop.content.queries import content_usable
from refloop.content.services import (
    content_create,
    content_transition,
    version_edit,
    version_new,
)
from refloop.core.errors import Conflict, DomainError, NotAllowed
from tests.content.conftest import in_days

S = ContentState


def test_it_takes_a_draft_through_review_to_approval_and_keeps_the_trail(
    draft, liaison, compliance
):
    content_transition(version=draft, to=S.IN_REVIEW, user=liaison, comment="Ready.")
    decision = content_transition(
        version=draft, to=S.APPROVED, user=compliance, comment="Fine.", expires_on=in_days(90)
    )

    draft.refresh_from_db()
    assert draft.state == S.APPROVED
    assert draft.expires_on == in_days(90)
    assert draft.usable_on(in_days(0)) and not draft.usable_on(in_days(91))
    trail = list(ContentDecision.objects.filter(version=draft).order_by("at", "id"))
    assert [(d.from_state, d.to_state, d.user, d.comment) for d in trail] == [
        (S.DRAFT, S.IN_REVIEW, liaison, "Ready."),
        (S.IN_REVIEW, S.APPROVED, compliance, "Fine."),
    ]
    assert decision.expires_on == in_days(90)
    assert content_usable(item=draft.item, on=in_days(1)) == draft


def test_it_records_the_flags_standing_at_each_change(draft, liaison):
    version_edit(version=draft, user=liaison, body="We guarantee a visit within a week.")

    decision = content_transition(version=draft, to=S.IN_REVIEW, user=liaison)

    assert [(f["rule"], f["words"], f["where"]) for f in decision.flags] == [
        ("Guarantee", "guarantee", "body")
    ]


def test_it_tells_the_reviewers_of_a_submission_and_the_author_of_the_decision(
    draft, liaison, compliance, second_reviewer, manager
):
    content_transition(version=draft, to=S.IN_REVIEW, user=liaison)

    told = Alert.objects.filter(kind="content_submitted")
    assert set(told.values_list("recipient__username", flat=True)) == {
        "compliance",
        "compliance-2",
    }
    assert all(a.referral_id is None and "Knee clinic sheet" in a.text for a in told)

    content_transition(
        version=draft, to=S.CHANGES_REQUESTED, user=compliance, comment="Cite the guideline."
    )

    told = Alert.objects.get(kind="content_changes_requested")
    assert told.recipient == liaison
    assert "Cite the guideline." in told.text


def test_it_refuses_a_move_the_workflow_does_not_have(draft, compliance):
    with pytest.raises(DomainError, match="cannot become approved"):
        content_transition(version=draft, to=S.APPROVED, user=compliance, expires_on=in_days(30))
    assert not ContentDecision.objects.exists()


def test_it_lets_only_compliance_decide(draft, liaison, manager):
    content_transition(version=draft, to=S.IN_REVIEW, user=liaison)

    with pytest.raises(NotAllowed):
        content_transition(version=draft, to=S.APPROVED, user=manager, expires_on=in_days(30))
    with pytest.raises(NotAllowed):
        content_transition(version=draft, to=S.CHANGES_REQUESTED, user=liaison, comment="x")


def test_it_lets_only_authors_hand_in(draft, compliance):
    with pytest.raises(NotAllowed):
        content_transition(version=draft, to=S.IN_REVIEW, user=compliance)


def test_it_does_not_let_a_reviewer_approve_their_own_version(line, admin_user, compliance):
    version = content_create(
        kind=ContentKind.BROCHURE, title="Admin's brochure", body="Plain text.", user=admin_user
    )
    content_transition(version=version, to=S.IN_REVIEW, user=admin_user)

    with pytest.raises(NotAllowed, match="another compliance reviewer"):
        content_transition(version=version, to=S.APPROVED, user=admin_user, expires_on=in_days(30))
    content_transition(version=version, to=S.APPROVED, user=compliance, expires_on=in_days(30))
    version.refresh_from_db()
    assert version.state == S.APPROVED


@pytest.mark.parametrize(
    ("expires_on", "message"),
    [
        (None, "needs an expiry date"),
        (in_days(0), "after today"),
        (in_days(731), "at most 730 days"),
    ],
)
def test_it_requires_a_sensible_expiry_to_approve(draft, liaison, compliance, expires_on, message):
    content_transition(version=draft, to=S.IN_REVIEW, user=liaison)

    with pytest.raises(DomainError, match=message):
        content_transition(version=draft, to=S.APPROVED, user=compliance, expires_on=expires_on)


def test_it_requires_a_comment_to_request_changes(draft, liaison, compliance):
    content_transition(version=draft, to=S.IN_REVIEW, user=liaison)

    with pytest.raises(DomainError, match="Say what needs to change"):
        content_transition(version=draft, to=S.CHANGES_REQUESTED, user=compliance, comment=" ")


def test_it_refuses_a_decision_on_a_version_someone_else_just_moved(draft, liaison, compliance):
    content_transition(version=draft, to=S.IN_REVIEW, user=liaison)
    stale = ContentVersion.objects.get(pk=draft.pk)
    content_transition(version=draft, to=S.CHANGES_REQUESTED, user=compliance, comment="No.")

    with pytest.raises(Conflict):
        content_transition(version=stale, to=S.APPROVED, user=compliance, expires_on=in_days(9))
    assert ContentDecision.objects.filter(to_state=S.APPROVED).count() == 0


def test_it_edits_only_drafts_and_returned_versions(approved, draft, liaison):
    with pytest.raises(Conflict, match="start a new version"):
        version_edit(version=approved, user=liaison, body="Changed after approval.")
    approved.refresh_from_db()
    assert "Whom we see" in approved.body


def test_it_makes_a_change_to_approved_content_a_new_version(approved, liaison, compliance):
    second = version_new(item=approved.item, user=liaison)

    assert (second.number, second.state, second.body) == (2, S.DRAFT, approved.body)
    with pytest.raises(Conflict, match="still draft"):
        version_new(item=approved.item, user=liaison)

    version_edit(version=second, user=liaison, body=second.body + "\n\nUrgent: call us.")
    content_transition(version=second, to=S.IN_REVIEW, user=liaison)
    content_transition(version=second, to=S.APPROVED, user=compliance, expires_on=in_days(30))

    approved.refresh_from_db()
    assert approved.state == S.RETIRED  # one approved text per item
    assert approved.decisions.last().comment == "Superseded by version 2."
    assert content_usable(item=approved.item, on=in_days(0)) == second
    assert approved.item.versions.count() == 2


def test_it_refuses_unknown_personalisation_fields_in_an_email(liaison):
    with pytest.raises(DomainError, match=r"unknown field\(s\) \{firstname\}"):
        content_create(
            kind=ContentKind.EMAIL,
            title="Hello",
            subject="News for {practice_name}",
            body="Dear {firstname},",
            user=liaison,
        )
    with pytest.raises(DomainError, match="lone"):
        content_create(kind=ContentKind.EMAIL, title="x", subject="a {", body="b", user=liaison)

    version = content_create(
        kind=ContentKind.EMAIL,
        title="Hello",
        subject="News for {practice_name}",
        body="Dear {first_name}, {{literal braces}}.",
        user=liaison,
    )
    assert version.number == 1


def test_it_needs_a_subject_before_an_email_is_reviewed(liaison):
    version = content_create(kind=ContentKind.EMAIL, title="Hi", body="Dear all,", user=liaison)

    with pytest.raises(DomainError, match="needs a subject"):
        content_transition(version=version, to=S.IN_REVIEW, user=liaison)


def test_it_retires_approved_content_at_an_authors_or_reviewers_word(approved, liaison):
    content_transition(version=approved, to=S.RETIRED, user=liaison, comment="Old clinic.")

    approved.refresh_from_db()
    assert approved.state == S.RETIRED
    assert content_usable(item=approved.item, on=in_days(0)) is None
    with pytest.raises(DomainError):
        content_transition(version=approved, to=S.IN_REVIEW, user=liaison)


def test_it_changes_a_state_in_a_bounded_number_of_queries(draft, liaison):
    with CaptureQueriesContext(connection) as queries:
        content_transition(version=draft, to=S.IN_REVIEW, user=liaison)
    assert len(queries) <= 12
