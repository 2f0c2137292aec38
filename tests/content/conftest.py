import datetime as dt

import pytest
from django.utils import timezone

from refloop.content.enums import ContentKind, ContentState
from refloop.content.services import content_create, content_transition
from tests import factories

CLEAN_BODY = (
    "Whom we see: adults with knee and hip pain after six weeks of care.\n\n"
    "What to send: recent notes and imaging reports."
)


def in_days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def second_reviewer(db):
    return factories.person("compliance", username="compliance-2")


@pytest.fixture
def draft(liaison, line):
    return content_create(
        kind=ContentKind.SERVICE_SHEET,
        title="Knee clinic sheet",
        service_line=line,
        body=CLEAN_BODY,
        user=liaison,
    )


@pytest.fixture
def approved(draft, liaison, compliance):
    content_transition(version=draft, to=ContentState.IN_REVIEW, user=liaison)
    content_transition(
        version=draft, to=ContentState.APPROVED, user=compliance, expires_on=in_days(180)
    )
    return draft
