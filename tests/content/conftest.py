import datetime as dt
import importlib

import pytest
from django.utils import timezone

from refloop.content.enums import ContentKind, ContentState
from refloop.content.services import content_create, content_transition
from tests import factories


@pytest.fixture(autouse=True)
def _default_rules(db):
    """The claims rules the migration seeds, seeded again: a transactional test elsewhere in the
    suite empties every table (flush), seeded rows included."""
    from django.apps import apps

    importlib.import_module("refloop.content.migrations.0003_default_claim_rules").rules_seed(
        apps, None
    )


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
