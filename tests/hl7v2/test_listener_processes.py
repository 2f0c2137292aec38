"""The listener with worker processes (production on PostgreSQL): each message goes to a free
worker process on the test database, a resend on another connection gets its original ACK, and a
worker that dies costs no message: the connections in flight get no ACK, the sender resends, and
new workers take it."""

import asyncio
import os
import signal

import pytest
from django.db import connection

from refloop.interop.hl7v2.mllp import ListenerThread, mllp_send
from refloop.interop.hl7v2.models import Hl7Message
from refloop.referrals.models import Referral
from tests.hl7v2.conftest import ack_of, data

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="worker processes need a database server (SQLite's test database is in memory)",
    ),
    pytest.mark.django_db(transaction=True),
]


def referral(n: int) -> bytes:
    return (
        data("REF-I12-01.hl7")
        .replace(b"MSG00112", f"P{n}".encode())
        .replace(b"226839^EPIC", f"P{n}^EPIC".encode())
    )


@pytest.fixture
def listener(partner):
    with ListenerThread(processes=2) as running:
        yield running


def worker_pids(listener) -> list[int]:
    return list(listener.listener.executor._processes)


def test_it_hands_messages_to_worker_processes_on_the_same_database(listener):
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda n: mllp_send("127.0.0.1", listener.port, [referral(n)]), range(8))
        )
    assert [ack_of(a)[0] for [a] in answers] == ["AA"] * 8
    assert Referral.objects.count() == 8
    assert len(worker_pids(listener)) == 2 and os.getpid() not in worker_pids(listener)
    [again] = mllp_send("127.0.0.1", listener.port, [referral(3)])
    assert again == answers[3][0]  # a resend on another connection: the stored ACK
    assert Hl7Message.objects.count() == 8


def test_it_starts_new_workers_when_one_dies_and_the_resend_is_taken(listener):
    os.kill(worker_pids(listener)[0], signal.SIGKILL)
    with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
        for _ in range(10):  # until the pool is seen broken (the kill is asynchronous)
            mllp_send("127.0.0.1", listener.port, [referral(1)])
    [answer] = mllp_send("127.0.0.1", listener.port, [referral(1)])  # the sender resends
    assert ack_of(answer)[0] == "AA"
    assert Referral.objects.count() == 1 and Hl7Message.objects.count() == 1
