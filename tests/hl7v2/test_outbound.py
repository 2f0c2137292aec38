"""Back to the partner in HL7: RRI^I12 for status, the report as MDM^T02 or ORU^R01 with the PDF
embedded (ED, Base64), over a real MLLP connection to a partner that checks what it gets and
ACKs it; AE/AR fail the message with the partner's text; no partner answering means a retry."""

import asyncio
import base64
import io
import threading

import hl7
import pytest
from hl7.mllp import start_hl7_server
from pypdf import PdfReader

from refloop.core.pdf import Section, pdf_letter
from refloop.directory.enums import DocumentKind
from refloop.interop.hl7v2.models import Hl7Partner
from refloop.interop.hl7v2.routes import hl7_route
from refloop.interop.hl7v2.services import message_receive
from refloop.loop.services.referrer import referrer_message, referrer_route
from refloop.messaging.enums import MessageChannel, MessageStatus, Purpose
from refloop.messaging.sending import message_send
from refloop.referrals.models import Referral
from refloop.referrals.services import IncomingDocument, document_add
from tests.hl7v2.conftest import data

pytestmark = pytest.mark.django_db


class PartnerServer:
    """A partner's MLLP endpoint in a thread: parses each message, keeps it, answers `code`."""

    def __init__(self, code="AA", text=""):
        self.code, self.text, self.received = code, text, []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _client(self, reader, writer):
        try:
            while True:
                block = await reader.readblock()
                message = hl7.parse(block.decode("utf-8"))
                self.received.append(message)
                ack = str(message.create_ack(self.code)).rstrip("\r")
                if self.text:
                    ack += f"|{self.text}"
                writer.writeblock((ack + "\r").encode("utf-8"))
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()

    def __enter__(self):
        self.thread.start()
        start = start_hl7_server(self._client, "127.0.0.1", 0, limit=2**24)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def real_pdf() -> bytes:
    return pdf_letter(title="Consult report", sections=[Section("Findings", "Benign.")])


def hl7_referral(partner: Hl7Partner) -> Referral:
    assert b"AA" in message_receive(raw=data("REF-I12-01.hl7"))
    return Referral.objects.get()


def aim(partner, port, **fields):
    partner.outbound_host, partner.outbound_port = "127.0.0.1", port
    for name, value in fields.items():
        setattr(partner, name, value)
    partner.save()


def queue(referral, *, purpose=Purpose.STATUS_UPDATE, document_id=None, key="k1"):
    route = referrer_route(referral)
    message, _ = referrer_message(
        referral=referral,
        route=route,
        purpose=purpose,
        subject="Referral update",
        body=f"Referral {referral.number}: accepted.\nWe will call the patient.",
        dedupe_key=key,
        document_id=document_id,
    )
    return message


def report(referral) -> int:
    incoming = IncomingDocument(
        kind=DocumentKind.REPORT, filename="report.pdf", content=real_pdf(), title="Consult"
    )
    return document_add(
        referral_id=referral.pk, incoming=incoming, actor=None, match_checklist=False
    ).pk


def test_it_routes_a_partner_referral_back_to_the_partner(partner):
    referral = hl7_referral(partner)
    assert hl7_route(referral) is None  # no outbound endpoint, no wish: the referrer's own way
    aim(partner, 2575, wants_status=True)
    route = referrer_route(referral)
    assert (route.channel, route.to_address) == (MessageChannel.HL7, str(partner.pk))


def test_it_sends_a_status_update_as_rri_i12_and_records_the_ack(partner):
    referral = hl7_referral(partner)
    with PartnerServer() as server:
        aim(partner, server.port, wants_status=True)
        message = queue(referral)
        assert message_send(message_id=message.pk) == MessageStatus.SENT
    [got] = server.received
    assert (
        str(got.extract_field("MSH", 1, 9, 1, 1)) + "^" + str(got.extract_field("MSH", 1, 9, 1, 2))
        == "RRI^I12"
    )
    assert str(got.extract_field("MSH", 1, 10)) == f"RL-{message.pk}"
    assert str(got.extract_field("RF1", 1, 6)) == "226839"  # the sender's own referral id
    assert str(got.extract_field("RF1", 1, 11, 1, 1)) == referral.number
    assert "accepted" in str(got.segments("NTE")[0])
    message.refresh_from_db()
    assert message.provider_id == f"RL-{message.pk}" and message.backend == "hl7-mllp"


@pytest.mark.parametrize(
    ("preference", "structure"), [("MDM^T02", "MDM"), ("ORU^R01", "ORU"), ("", "MDM")]
)
def test_it_sends_the_report_with_the_pdf_embedded(partner, preference, structure):
    referral = hl7_referral(partner)
    with PartnerServer() as server:
        aim(partner, server.port, wants_report=preference, wants_status=not preference)
        message = queue(referral, purpose=Purpose.REPORT, document_id=report(referral))
        assert message_send(message_id=message.pk) == MessageStatus.SENT
    [got] = server.received
    assert str(got.extract_field("MSH", 1, 9, 1, 1)) == structure
    obx = got.segment("OBX")
    assert str(obx(2)) == "ED"
    assert [str(obx(5)(1)(n)) for n in (2, 3, 4)] == ["AP", "PDF", "Base64"]
    pdf = base64.b64decode(str(obx(5)(1)(5)))
    assert pdf.startswith(b"%PDF") and len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_it_fails_the_message_with_the_partners_text_when_it_refuses(partner):
    referral = hl7_referral(partner)
    with PartnerServer(code="AE", text="Unknown patient") as server:
        aim(partner, server.port, wants_status=True)
        message = queue(referral)
        assert message_send(message_id=message.pk) == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.status_reason == "The partner answered AE: Unknown patient"


def test_it_retries_with_back_off_when_nobody_answers_then_sends(partner):
    import socket

    with socket.socket() as probe:  # a port where nobody listens
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    referral = hl7_referral(partner)
    aim(partner, dead_port, wants_status=True)
    message = queue(referral)
    assert message_send(message_id=message.pk) == MessageStatus.QUEUED
    message.refresh_from_db()
    assert message.attempts == 1 and "did not answer" in message.status_reason
    assert message.not_before > message.created_at  # backed off

    with PartnerServer() as server:
        aim(partner, server.port)
        later = message.not_before
        assert message_send(message_id=message.pk, now=later) == MessageStatus.SENT
    assert len(server.received) == 1
    message.refresh_from_db()
    assert message.attempts == 2
