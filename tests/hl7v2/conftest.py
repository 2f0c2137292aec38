"""HL7 v2 test helpers: the conformance files, a gastroenterology line and its partner, reading
ACKs."""

from pathlib import Path

import hl7
import pytest

from refloop.interop.hl7v2.models import Hl7Partner
from refloop.interop.hl7v2.parsing import text_of
from refloop.referrals.enums import State
from refloop.referrals.services import referral_transition
from tests import factories

DATA = Path(__file__).resolve().parent.parent / "data" / "hl7v2"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def ack_of(answer: bytes) -> tuple[str, str, str]:
    """(MSA-1 code, MSA-2 control id, MSA-3 text) of an ACK."""
    message = hl7.parse(text_of(answer))
    assert str(message.extract_field("MSH", 1, 9, 1, 1)) == "ACK"
    msa = message.segment("MSA")
    return str(msa(1)), str(msa(2)), message.unescape(str(msa(3))) if len(msa) > 3 else ""


def err_of(answer: bytes) -> str:
    """ERR-3 code (table 0357) of an ACK."""
    message = hl7.parse(text_of(answer))
    return str(message.extract_field("ERR", 1, 3, 1, 1))


def accept(referral) -> None:
    for state in (State.TRIAGE, State.ACCEPTED):
        referral_transition(referral_id=referral.pk, to_state=state, actor=None)


@pytest.fixture
def gi_line(db):
    return factories.service_line(code="gastroenterology", name="Gastroenterology")


@pytest.fixture
def partner(gi_line):
    """Good Health Hospital: REF from its GHH application, SIU from SCHApp, ADT from ADTApp, all
    from facility GHHSFacility."""
    return Hl7Partner.objects.create(
        name="Good Health Hospital", sending_facility="GHHSFacility", default_service_line=gi_line
    )
