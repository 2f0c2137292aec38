"""The HL7 v2 channel backend (settings.REFLOOP_HL7_BACKEND): builds the message for the partner
named by `to_address` (an Hl7Partner id), sends it over an MLLP connection, and waits for its ACK.

AA (or CA) -> sent. AE/AR -> SendRefused with the partner's own text (MSA-3, ERR-8). No
connection, a timeout or a dropped connection -> SendUnavailable: messaging retries it with its
back-off (sending.py).
"""

from __future__ import annotations

import asyncio
import contextlib

import hl7
from django.conf import settings

from refloop.interop.hl7v2.mllp import mllp_send
from refloop.interop.hl7v2.models import Hl7Partner
from refloop.interop.hl7v2.outbound import control_id, message_build
from refloop.interop.hl7v2.parsing import text_of
from refloop.messaging.backends import SendRefused, SendResult, SendUnavailable


class MllpBackend:
    name = "hl7-mllp"

    def send(self, message) -> SendResult:
        partner = self._partner(message.to_address)
        if message.referral_id is None:
            raise SendRefused("An HL7 message needs the referral it is about.")
        try:
            payload = message_build(message=message, partner=partner)
        except OSError as error:
            raise SendRefused("The document's file could not be read.") from error
        try:
            [answer] = mllp_send(
                partner.outbound_host,
                partner.outbound_port,
                [payload],
                timeout=settings.REFLOOP_HL7_TIMEOUT,
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
            raise SendUnavailable(
                f"HL7 partner {partner.pk} ({partner.outbound_host}:{partner.outbound_port}) "
                f"did not answer: {type(error).__name__}."
            ) from error
        return self._result(message, answer)

    def _partner(self, to_address: str) -> Hl7Partner:
        partner = (
            Hl7Partner.objects.filter(pk=int(to_address), active=True).first()
            if to_address.isdigit()
            else None
        )
        if partner is None:
            raise SendRefused(f"No active HL7 partner '{to_address}'.")
        if not (partner.outbound_host and partner.outbound_port):
            raise SendRefused(f"HL7 partner {partner.pk} has no outbound host and port.")
        return partner

    def _result(self, message, answer: bytes) -> SendResult:
        try:
            ack = hl7.parse(text_of(answer))
            code = str(ack.extract_field("MSA", 1, 1, 1, 1)).upper()
            about = str(ack.extract_field("MSA", 1, 2, 1, 1))
            text = str(ack.extract_field("MSA", 1, 3, 1, 1))
            with contextlib.suppress(KeyError):
                text = str(ack.extract_field("ERR", 1, 8, 1, 1)) or text
        except Exception as error:  # noqa: BLE001 - a garbled answer: we cannot know it arrived
            raise SendUnavailable("The partner's answer was not an HL7 ACK.") from error
        if about != control_id(message):
            raise SendUnavailable(f"The partner acknowledged '{about[:20]}', not this message.")
        if code in {"AA", "CA"}:
            return SendResult(provider_id=control_id(message))
        raise SendRefused(f"The partner answered {code}: {ack.unescape(text)[:150]}")
