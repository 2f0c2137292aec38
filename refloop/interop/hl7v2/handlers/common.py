"""What every handler shares: the outcome it returns, the partner, the patient as PID gives it."""

from __future__ import annotations

from dataclasses import dataclass

from refloop.directory.models import Patient
from refloop.interop.hl7v2.models import Hl7Partner
from refloop.interop.hl7v2.parsing import Header, Hl7Problem, Reader, date_of
from refloop.referrals.services import PatientData

SEX = {"M": Patient.Sex.MALE, "F": Patient.Sex.FEMALE, "O": Patient.Sex.OTHER, "A": "other"}
LANGUAGES = {"EN": "English", "ENG": "English", "ES": "Spanish", "SPA": "Spanish"}


@dataclass(frozen=True)
class Outcome:
    """What a handler did: `processed` (records changed) or not (acknowledged and ignored, with
    the reason in `text`)."""

    processed: bool
    text: str
    referral_id: int | None = None


def ignored(text: str) -> Outcome:
    return Outcome(processed=False, text=text)


@dataclass(frozen=True)
class Context:
    header: Header
    reader: Reader
    partner: Hl7Partner | None
    message_id: int


def partner_for(header: Header) -> Hl7Partner | None:
    """The active partner with this facility and application, else one with this facility and
    no application named."""
    partners = Hl7Partner.objects.filter(sending_facility=header.facility, active=True)
    exact = [p for p in partners if p.sending_application == header.application]
    return (exact or [p for p in partners if not p.sending_application] or [None])[0]


def mrn_of(reader: Reader) -> str:
    """PID-3: the repetition typed MR, else the first identifier."""
    count = reader.repetitions("PID", 3)
    for rep in range(1, count + 1):
        if reader.get("PID", 3, 5, rep=rep).upper() == "MR":
            return reader.get("PID", 3, 1, rep=rep)[:30]
    return reader.get("PID", 3, 1)[:30]


def patient_data(reader: Reader) -> PatientData:
    """The patient as PID gives them. Name and date of birth are required: a referral for
    nobody in particular is refused, never guessed."""
    if not reader.has("PID"):
        raise Hl7Problem("The message has no PID segment.", code="100", location="PID")
    last, first = reader.get("PID", 5, 1), reader.get("PID", 5, 2)
    if not (last and first):
        raise Hl7Problem("PID-5 needs the family and given name.", code="101", location="PID^1^5")
    birth_date = date_of(reader.get("PID", 7), where="PID^1^7")
    if birth_date is None:
        raise Hl7Problem("PID-7 (date of birth) is empty.", code="101", location="PID^1^7")
    state = reader.get("PID", 11, 4).upper()
    return PatientData(
        first_name=first.title()[:100],
        last_name=last.title()[:100],
        birth_date=birth_date,
        sex=SEX.get(reader.get("PID", 8).upper(), Patient.Sex.UNKNOWN),
        mrn=mrn_of(reader),
        phone=phone_of(reader)[:30],
        address=street_of(reader)[:300],
        city=reader.get("PID", 11, 3)[:100],
        state=state if len(state) == 2 else "",
        postal_code=reader.get("PID", 11, 5)[:10],
        preferred_language=language_of(reader),
    )


def street_of(reader: Reader) -> str:
    line1 = " ".join(
        p for p in (reader.get("PID", 11, 1, sub=n) for n in (1, 2, 3)) if p
    )  # SAD: street, street name, dwelling number
    return ", ".join(p for p in (line1, reader.get("PID", 11, 2)) if p)


def phone_of(reader: Reader) -> str:
    """PID-13: the formatted number (XTN.1), else area code and local number (XTN.6, XTN.7)."""
    formatted = reader.get("PID", 13, 1)
    if formatted:
        return formatted
    area, local = reader.get("PID", 13, 6), reader.get("PID", 13, 7)
    return f"({area}) {local[:3]}-{local[3:]}" if area and len(local) == 7 else local


def language_of(reader: Reader) -> str:
    code, text = reader.get("PID", 15, 1), reader.get("PID", 15, 2)
    return (LANGUAGES.get(code.upper()) or text.title() or code or "English")[:40]
