"""Approvals running out: the author is told once, two weeks ahead; expired content stops being
usable on the day, without a state change."""

import datetime as dt

from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.content.enums import ContentKind, ContentState
from refloop.content.jobs import content_expiry
from refloop.content.models import ContentVersion
from refloop.content.queries import (
    EXPIRED,
    content_library,
    content_usable,
    content_usable_versions,
    line_content,
)
from tests.content.conftest import in_days


def _expires(version, days: int) -> None:
    ContentVersion.objects.filter(pk=version.pk).update(expires_on=in_days(days))
    version.refresh_from_db()


def test_it_tells_the_author_once_when_an_approval_ends_within_two_weeks(approved, liaison):
    now = timezone.now()
    assert content_expiry(now) == 0  # 180 days away

    _expires(approved, 14)
    assert content_expiry(now) == 1
    assert content_expiry(now + dt.timedelta(hours=1)) == 0

    alert = Alert.objects.get(kind="content_expiring")
    assert alert.recipient == liaison
    assert "Knee clinic sheet (version 1)" in alert.text
    assert f"after {in_days(14):%Y-%m-%d} (14 days)" in alert.text


def test_it_leaves_alone_drafts_and_what_expired_already(approved, draft, liaison):
    _expires(approved, -1)

    assert content_expiry(timezone.now()) == 0
    assert not Alert.objects.filter(kind="content_expiring").exists()


def test_it_stops_expired_content_being_usable_and_lists_it_as_expired(approved):
    _expires(approved, -1)
    today = timezone.localdate()

    approved.refresh_from_db()
    assert approved.state == ContentState.APPROVED
    assert not approved.usable_on(today)
    assert content_usable(item=approved.item, on=today) is None
    assert list(content_library(on=today, state=EXPIRED)) == [approved.item]
    assert list(content_library(on=today, state=ContentState.APPROVED)) == []


def test_it_finds_a_lines_usable_text_and_every_usable_version(approved, line):
    today = timezone.localdate()
    kind = ContentKind.SERVICE_SHEET
    assert line_content(service_line_id=line.pk, kind=kind, on=today) == approved
    assert line_content(service_line_id=line.pk, kind=ContentKind.EMAIL, on=today) is None
    assert list(content_usable_versions(on=today)) == [approved]
    assert list(content_usable_versions(on=today, kind=ContentKind.EMAIL)) == []

    _expires(approved, -1)
    assert line_content(service_line_id=line.pk, kind=kind, on=today) is None
    assert list(content_usable_versions(on=today)) == []
