"""The demo's content: approved, unexpired texts per service line, and the review at work."""

import datetime as dt
import random
import time

import pytest
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.content.demo import content_demo_load
from refloop.content.enums import ContentKind, ContentState
from refloop.content.models import ContentDecision, ContentItem, ContentVersion
from refloop.content.queries import content_usable, version_claims
from refloop.demo.logins import demo_logins_ensure
from refloop.demo.program import program_create
from refloop.directory.models import ServiceLine

NOW = dt.datetime(2025, 6, 11, 19, 30, tzinfo=dt.UTC)


@pytest.fixture
def loaded(db):
    program_create(rng=random.Random(7), scale=0.02, now=NOW)
    users = demo_logins_ensure()
    started = time.monotonic()
    content_demo_load(users=users, now=NOW, rng=random.Random(7))
    return time.monotonic() - started


def test_it_gives_every_active_line_usable_content_of_each_kind(loaded):
    today = timezone.localdate()
    lines = ServiceLine.objects.filter(active=True)
    assert lines.count() == 6
    for line in lines:
        for kind in (ContentKind.PROVIDER_PAGE, ContentKind.SERVICE_SHEET, ContentKind.EMAIL):
            item = ContentItem.objects.get(
                service_line=line, kind=kind, title__startswith=f"{line.name}:"
            )
            version = content_usable(item=item, on=today)
            assert version is not None, (line.code, kind)
            assert version_claims(version=version) == [], (line.code, kind)
            assert version.created_by.username == "liaison"
            approval = version.decisions.get(to_state=ContentState.APPROVED)
            assert approval.user.username == "compliance"
    assert loaded < 10


def test_it_writes_provider_pages_without_measured_figures(loaded):
    page = ContentVersion.objects.filter(item__kind=ContentKind.PROVIDER_PAGE).first()
    assert "## Whom we see" in page.body and "## Urgent pathway" in page.body
    assert "## What to send" in page.body
    assert "%" not in page.body and "median" not in page.body


def test_it_shows_the_review_at_work(loaded):
    waiting = ContentVersion.objects.get(item__title="Open house invitation")
    assert waiting.state == ContentState.IN_REVIEW
    assert [f.words for f in version_claims(version=waiting)] == ["best"]
    assert "{first_name}" in waiting.body

    returned = ContentVersion.objects.get(item__title="Why refer to us")
    assert returned.state == ContentState.CHANGES_REQUESTED
    assert "92%" in returned.decisions.last().comment

    lapsed = ContentVersion.objects.get(item__title="Last year's referral guide")
    assert lapsed.state == ContentState.APPROVED
    assert not lapsed.usable_on(timezone.localdate())
    assert ContentDecision.objects.filter(version=lapsed).count() == 2


def test_it_leaves_unread_only_the_alerts_someone_must_act_on(loaded):
    unread = Alert.objects.filter(read_at__isnull=True, kind__startswith="content_")
    assert {(a.recipient.username, a.kind) for a in unread} == {
        ("compliance", "content_submitted"),
        ("admin", "content_submitted"),
        ("liaison", "content_changes_requested"),
    }


def test_it_loads_once(loaded):
    count = ContentVersion.objects.count()
    content_demo_load(users=demo_logins_ensure(), now=NOW, rng=random.Random(7))
    assert ContentVersion.objects.count() == count == 6 * 3 + 3
