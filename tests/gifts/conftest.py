"""People and items for the gift ledger tests: physicians, a nurse practitioner, office staff."""

import datetime as dt
import importlib
from decimal import Decimal

import pytest

from refloop.directory.models import Clinician
from refloop.gifts.enums import LimitKind
from refloop.gifts.models import GiftLimit
from refloop.gifts.services import gift_record
from tests import factories

YEAR = 2026
LIMIT = Decimal("535.00")


@pytest.fixture(autouse=True)
def _cms_limits(db):
    """The limits the migration seeds, seeded again: a transactional test elsewhere in the suite
    empties every table (flush), seeded rows included."""
    from django.apps import apps

    importlib.import_module("refloop.gifts.migrations.0003_seed_cms_limits").seed(apps, None)


def doctor(last: str, credentials: str = "MD") -> Clinician:
    return Clinician.objects.create(first_name="Pat", last_name=last, credentials=credentials)


@pytest.fixture
def physicians(db):
    return [doctor(name) for name in ("Avery", "Brook", "Chen", "Diaz")]


@pytest.fixture
def nurse(db):
    return doctor("Ellis", "NP")


@pytest.fixture
def liaison2(db):
    from refloop.core.roles import Role

    return factories.person(Role.LIAISON, username="liaison2")


@pytest.fixture
def on_day():
    """A day in the seeded 2026 limit year, well before today."""
    return dt.date(YEAR, 3, 10)


def limit_2026() -> Decimal:
    return GiftLimit.objects.get(year=YEAR, kind=LimitKind.NON_MONETARY_ANNUAL).amount


def given(user, clinicians, total, on, **kw):
    return gift_record(
        kind=kw.pop("kind", "meal"),
        description=kw.pop("description", "Lunch-and-learn"),
        on=on,
        total=total,
        user=user,
        clinician_ids=[c.pk for c in clinicians],
        **kw,
    )
