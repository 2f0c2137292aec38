"""The demo's gift ledger: modest lunches inside the limit, one physician close to it, one excess
being cured, and the approval queue with one item that cannot be approved."""

import datetime as dt
import random
from decimal import Decimal

from refloop.core.roles import Role
from refloop.directory.models import ClinicianRole, Organization
from refloop.gifts.demo import NEAR_HEADROOM, OVER_BY, gifts_demo_load
from refloop.gifts.enums import CureState, GiftState
from refloop.gifts.models import Cure, GiftItem
from refloop.gifts.queries import gift_approval_queue, gift_ledger
from tests import factories

from .conftest import LIMIT, doctor

NOW = dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC)


def _referrers(line, intake):
    docs = []
    for p in range(3):
        org = Organization.objects.create(name=f"Birch Practice {p}", kind="referring_practice")
        for d in range(2):
            doc = doctor(f"Ref{p}{d}")
            doc.npi = factories.npi(9000 + p * 10 + d)
            doc.save()
            ClinicianRole.objects.create(clinician=doc, organization=org)
            factories.referral(line=line, clinician=doc, actor=intake)
            docs.append(doc)
    return docs


def _load(users, seed=3):
    gifts_demo_load(users=users, now=NOW, rng=random.Random(seed))


def test_it_loads_a_year_inside_the_limit_with_one_near_and_one_cured(
    line, intake, liaison, compliance, admin_user
):
    _referrers(line, intake)
    _load({Role.LIAISON: liaison, Role.COMPLIANCE: compliance, Role.ADMIN: admin_user})
    limit, rows = gift_ledger(year=2026)
    assert limit == LIMIT and len(rows) == 6
    over = [r for r in rows if r.excess]
    assert [r.excess for r in over] == [OVER_BY]
    assert over[0].cure.state == CureState.OPEN
    assert Cure.objects.get().due_on == dt.date(2026, 12, 31)  # received 2 Oct: year end first
    near = [r for r in rows if r.total == LIMIT - NEAR_HEADROOM]
    assert len(near) == 1
    others = [r for r in rows if r not in over and r not in near]
    assert all(Decimal("0") < r.total < Decimal("200") for r in others)  # modest lunches
    assert GiftItem.objects.filter(kind="meal", state=GiftState.ACTUAL).count() >= 9
    queue = gift_approval_queue()
    assert [q.blocked for q in queue] == [True, False]


def test_it_is_the_same_every_time(line, intake, liaison, compliance, admin_user):
    from django.db import transaction

    _referrers(line, intake)
    users = {Role.LIAISON: liaison, Role.COMPLIANCE: compliance, Role.ADMIN: admin_user}

    def snapshot():
        return sorted(
            GiftItem.objects.values_list("date", "total", "state", "shares__name", "shares__amount")
        )

    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            _load(users)
            first = snapshot()
            raise Undo
    except Undo:
        pass
    assert not GiftItem.objects.exists()
    _load(users)
    assert snapshot() == first and len(first) > 20


def test_it_loads_nothing_in_a_year_without_a_limit(line, intake, liaison, compliance):
    _referrers(line, intake)
    gifts_demo_load(
        users={Role.LIAISON: liaison, Role.COMPLIANCE: compliance},
        now=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
        rng=random.Random(1),
    )
    assert not GiftItem.objects.exists()
