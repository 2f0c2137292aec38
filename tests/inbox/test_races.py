"""Two coordinators filing the same part at once, and two deliveries of the same fax at once:
one wins, nothing is filed or stored twice. Real threads and PostgreSQL connections (the race
helper of the concurrency tests)."""

import pytest
from django.db import connection

from refloop.core.errors import Conflict
from refloop.inbox.models import InboxDocument
from refloop.inbox.services import (
    Arrival,
    inbox_document_receive,
    inbox_document_split,
    inbox_part_file_to_referral,
)
from tests import factories
from tests.domain.test_concurrency import race
from tests.inbox.conftest import received, three_page_pdf

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_it_files_a_part_once_when_two_coordinators_file_it_together(intake, line):
    other = factories.person("intake")
    document = received()
    (part,) = inbox_document_split(document_id=document.pk, ranges=[(1, 3)], actor=intake)
    first, second = factories.referral(line=line), factories.referral(line=line)
    results = race(
        lambda: inbox_part_file_to_referral(part_id=part.pk, referral_id=first.pk, actor=intake),
        lambda: inbox_part_file_to_referral(part_id=part.pk, referral_id=second.pk, actor=other),
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "str"]
    assert any(isinstance(r, Conflict) for r in results)
    assert first.documents.count() + second.documents.count() == 3  # 2 letters + 1 filed part


def test_it_stores_a_fax_delivered_twice_at_once_once(db):
    arrival = Arrival(
        source="fax",
        provider="phaxio",
        provider_id="twice",
        filename="fax.pdf",
        content=three_page_pdf(),
    )
    results = race(
        lambda: inbox_document_receive(arrival=arrival),
        lambda: inbox_document_receive(arrival=arrival),
    )
    assert results == ["ok", "ok"]
    assert InboxDocument.objects.count() == 1
