"""The MLLP listener on a real TCP socket (port 0), with real MLLP framing: ACK codes, the raw
message committed before the ACK, a resend answered with its original ACK, sloppy senders."""

import asyncio
import socket

import pytest
from django.db import connection

from refloop.interop.hl7v2 import handlers
from refloop.interop.hl7v2.mllp import ListenerThread, mllp_send
from refloop.interop.hl7v2.models import Hl7Message
from refloop.interop.hl7v2.services import message_replay
from refloop.referrals.models import Referral
from tests.hl7v2.conftest import ack_of, data, err_of

pytestmark = pytest.mark.django_db(transaction=True)

Status = Hl7Message.Status


@pytest.fixture
def listener(partner):
    # SQLite's shared in-memory test database has no busy timeout across threads: one worker.
    workers = 1 if connection.vendor == "sqlite" else 8
    with ListenerThread(workers=workers) as running:
        yield running


def send(listener, *raws: bytes) -> list[bytes]:
    return mllp_send("127.0.0.1", listener.port, list(raws))


def test_it_acknowledges_a_referral_and_creates_it(listener):
    [answer] = send(listener, data("REF-I12-01.hl7"))
    code, control_id, text = ack_of(answer)
    assert (code, control_id) == ("AA", "MSG00112")
    referral = Referral.objects.get()
    assert text == f"Referral {referral.number} created."
    message = Hl7Message.objects.get()
    assert message.status == Status.PROCESSED and bytes(message.ack) == answer


def test_it_answers_a_resend_with_the_original_ack_and_does_not_process_it_again(listener):
    first, again = send(listener, data("REF-I12-01.hl7"), data("REF-I12-01.hl7"))
    assert again == first  # byte for byte: the stored ACK
    assert Referral.objects.count() == 1
    assert Hl7Message.objects.count() == 1


def test_it_answers_a_resend_on_another_connection_too(listener):
    [first] = send(listener, data("SIU_12.hl7"))
    [again] = send(listener, data("SIU_12.hl7"))
    assert ack_of(first)[0] == "AA" and again == first


def test_it_gives_ae_with_err_when_the_application_refuses(listener):
    raw = data("REF-I12-01.hl7").replace(b"19610615", b"")  # no date of birth
    [answer] = send(listener, raw)
    code, _, text = ack_of(answer)
    assert code == "AE" and "PID-7" in text
    assert err_of(answer) == "101"
    message = Hl7Message.objects.get()
    assert message.status == Status.ERROR and "PID-7" in message.error
    assert bytes(message.raw) == raw  # kept for correction


@pytest.mark.parametrize(
    ("raw", "complaint", "err"),
    [
        (b"MSH|^~\\&|LAB|HOSP|R|R|20240101||ORU^R01|X1|P|2.5\rPID|1\r", "not supported", "200"),
        (b"MSH|^~\\&|LAB|HOSP|R|R|20240101||SIU^S17|X2|P|2.5\rSCH|1\r", "not supported", "201"),
        (b"MSH|^~\\&|LAB|HOSP|R|R|20240101||REF^I12|X3|P|2.1\rRF1|P\r", "version", "203"),
        (b"this is not HL7 at all", "No MSH", "100"),
    ],
)
def test_it_rejects_what_it_cannot_take_with_ar(listener, raw, complaint, err):
    [answer] = send(listener, raw)
    code, _, text = ack_of(answer)
    assert code == "AR" and complaint in text
    assert err_of(answer) == err
    assert Hl7Message.objects.get().status == Status.ERROR


@pytest.mark.parametrize("ending", [b"\r", b"\n", b"\r\n"])
def test_it_takes_any_segment_ending_and_a_byte_order_mark(listener, ending):
    raw = b"\xef\xbb\xbf" + data("REF-I12-02.hl7").replace(b"\n", ending)
    [answer] = send(listener, raw)
    assert ack_of(answer)[0] == "AA"
    assert Referral.objects.get().patient.last_name == "Everyman"


def test_it_commits_the_raw_message_before_processing_and_a_failure_can_be_replayed(
    listener, monkeypatch, intake
):
    """Processing dies after the commit: the row stays (status error), the sender gets AE, and
    the stored message is replayed once the fault is gone. Nothing is lost."""

    def broken(context):
        assert Hl7Message.objects.filter(pk=context.message_id).exists()  # committed already
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(handlers.HANDLERS, ("REF", "I12"), broken)
    [answer] = send(listener, data("REF-I12-01.hl7"))
    code, _, text = ack_of(answer)
    assert code == "AE" and "Internal error (RuntimeError)" in text and "fire" not in text
    message = Hl7Message.objects.get()
    assert message.status == Status.ERROR and not Referral.objects.exists()

    monkeypatch.undo()
    replay = message_replay(message_id=message.pk, raw_text=message.raw_text, actor=intake)
    assert replay.status == Status.PROCESSED and replay.referral is not None
    message.refresh_from_db()
    assert message.status == Status.ERROR and message.replay_count == 1  # the first try is kept


def test_it_processes_a_message_committed_but_never_answered_when_it_is_resent(listener):
    """A listener killed between the commit and the processing left a row with no ACK: the
    sender's resend (it got no ACK) processes it then."""
    raw = data("REF-I12-01.hl7")
    from django.utils import timezone

    from refloop.interop.hl7v2.parsing import header_read, text_of
    from refloop.interop.hl7v2.services import _store

    _store(raw, text_of(raw), header_read(text_of(raw)), timezone.now())
    assert Hl7Message.objects.get().status == Status.RECEIVED
    [answer] = send(listener, raw)
    assert ack_of(answer)[0] == "AA"
    assert Hl7Message.objects.get().status == Status.PROCESSED
    assert Referral.objects.count() == 1


def test_it_serves_several_connections_at_once(listener):
    import concurrent.futures

    raws = [
        data("REF-I12-01.hl7")
        .replace(b"MSG00112", f"C{n}".encode())
        .replace(b"226839^EPIC", f"R{n}^EPIC".encode())
        for n in range(12)
    ]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda raw: send(listener, raw)[0], raws))
    assert [ack_of(a)[0] for a in answers] == ["AA"] * 12
    assert Referral.objects.count() == 12


def test_it_drops_a_connection_that_does_not_speak_mllp(listener):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"MSH|no start block\x1c\r")
        assert sock.recv(100) == b""  # closed, nothing stored
    assert not Hl7Message.objects.exists()


def test_it_takes_connections_only_from_allowed_sources(partner, settings):
    # MLLP has no sign-in: a sender outside the partners' networks is not even read.
    settings.REFLOOP_HL7_ALLOWED_SOURCES = ["10.20.0.0/16"]
    with (
        ListenerThread(workers=1) as running,
        pytest.raises((asyncio.IncompleteReadError, ConnectionError)),
    ):
        mllp_send("127.0.0.1", running.port, [data("REF-I12-01.hl7")])

    assert not Hl7Message.objects.exists()
    assert not Referral.objects.exists()
